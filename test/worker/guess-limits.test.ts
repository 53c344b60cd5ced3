// Failure limits that hold over time, as the patient attacker meets them: codes of an address pause after a
// hundred wrong guesses in a row whatever the windows; wrong passwords of an account make its next try wait
// longer and longer, exactly, and lock it after a hundred; and an address gets a few codes an hour at most.
import { describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import { POLICY } from "../../src/policy.ts";
import { type Call, client, expectProblem, json, latestCode, mailTo, manualClock, PASSWORD, seededUser, uniqueEmail } from "./helpers.ts";

const db = getDb(inject("databaseUrl"));
const HOUR = 60 * 60;

/** Six-digit codes that are not `right`, one per call. */
function wrongCodes(right: string): () => string {
  let next = 100000;
  return () => {
    if (String(next) === right) next++;
    return String(next++);
  };
}

/** Each call from a network of its own: the per-network window budget is another rule's, not this one's. */
function from(network: number): Record<string, string> {
  return { "CF-Connecting-IP": `203.0.${Math.floor(network / 250)}.${(network % 250) + 1}` };
}

describe("wrong codes in a row (NIST SP 800-63B §5.2.2)", () => {
  it("pause an address's codes after a hundred, whatever the windows; the owner is told; each further wrong one pauses them again", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const email = uniqueEmail("patient");
    await call("/auth/signup", json("POST", { email, password: PASSWORD }));
    const wrong = wrongCodes(await latestCode(email));
    const guess = (code: string, network: number) => call("/auth/verify", json("POST", { email, code, password: PASSWORD }, from(network)));
    // 20 a window (the per-address budget of a window), windows apart, codes resent as they expire
    for (let made = 0; made < POLICY.codeRun.pauseAfter; made++) {
      if (made > 0 && made % 20 === 0) {
        clock.advance(11 * 60);
        expect((await call("/auth/verify/resend", json("POST", { email }))).status).toBe(202);
      }
      await expectProblem(await guess(wrong(), made), 400, "code_invalid");
    }
    const [notice] = await mailTo(email);
    expect(notice?.subject).toMatch(/paused/);
    clock.advance(11 * 60);
    expect((await call("/auth/verify/resend", json("POST", { email }))).status).toBe(202);
    const code = await latestCode(email);
    // paused: the right code does nothing either
    await expectProblem(await guess(code, 1000), 400, "code_invalid");
    // after the pause, one wrong guess pauses them again ...
    clock.advance(POLICY.codeRun.pauseHours * HOUR);
    await expectProblem(await guess(wrong(), 1001), 400, "code_invalid");
    await expectProblem(await guess(code, 1002), 400, "code_invalid");
    // ... and a right one, once the pause is over, proves the address and ends the run
    clock.advance(POLICY.codeRun.pauseHours * HOUR);
    expect((await call("/auth/verify/resend", json("POST", { email }))).status).toBe(202);
    expect((await guess(await latestCode(email), 1003)).status).toBe(200);
    const run = await db
      .selectFrom("code_failures")
      .select("failures")
      .where("address", "=", email)
      .where("scope", "=", "verify")
      .executeTakeFirstOrThrow();
    expect(run.failures).toBe(0);
  });

  it("a completed reset, a proof of the address by another route, lifts a pause of its codes", async () => {
    const user = await seededUser();
    const pausedUntil = new Date(Date.now() + POLICY.codeRun.pauseHours * HOUR * 1000);
    await db
      .insertInto("code_failures")
      .values({ address: user.email, scope: "verify", failures: 100, paused_until: pausedUntil, last_failure_at: new Date() })
      .execute();
    await client()("/auth/password/forgot", json("POST", { email: user.email }));
    const code = await latestCode(user.email);
    expect(
      (await client()("/auth/password/reset", json("POST", { email: user.email, code, new_password: "a brand new passphrase" }))).status,
    ).toBe(200);
    expect(await db.selectFrom("code_failures").select("failures").where("address", "=", user.email).execute()).toEqual([]);
  });
});

describe("wrong passwords in a row, per account", () => {
  const tryLogin = (call: Call, email: string, password: string) => call("/auth/login", json("POST", { email, password }));

  it("cost nothing at first, then make the next try wait, the right password alike, with a growing Retry-After", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    for (let failure = 1; failure <= POLICY.passwordRun.free; failure++) {
      await expectProblem(await tryLogin(call, user.email, "wrong guess"), 401, "invalid_credentials");
    }
    const waits: number[] = [];
    for (let failure = POLICY.passwordRun.free + 1; failure <= 12; failure++) {
      await expectProblem(await tryLogin(call, user.email, "wrong guess"), 401, "invalid_credentials");
      const refused = await tryLogin(call, user.email, PASSWORD);
      await expectProblem(refused, 429, "too_many_requests");
      const wait = Number(refused.headers.get("Retry-After"));
      waits.push(wait);
      clock.advance(wait);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
    // twelve wrong, then the right one once the wait is over: let in, every time, wherever a minute boundary falls
    expect((await tryLogin(call, user.email, PASSWORD)).status).toBe(200);
    const row = await db
      .selectFrom("users")
      .select(["login_failures", "login_blocked_until"])
      .where("id", "=", String(user.id))
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ login_failures: 0, login_blocked_until: null });
  });

  it("lock the account after a hundred: the owner is told, the right password is refused, a completed reset opens it", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    await db
      .updateTable("users")
      .set({ login_failures: POLICY.passwordRun.lockAt - 1 })
      .where("id", "=", String(user.id))
      .execute();
    await expectProblem(await tryLogin(call, user.email, "the hundredth wrong guess"), 401, "invalid_credentials");
    const [notice] = await mailTo(user.email);
    expect(notice?.subject).toMatch(/locked/);
    clock.advance(30 * 24 * HOUR);
    await expectProblem(await tryLogin(call, user.email, PASSWORD), 403, "account_locked");
    await call("/auth/password/forgot", json("POST", { email: user.email }));
    const code = await latestCode(user.email);
    expect(
      (await call("/auth/password/reset", json("POST", { email: user.email, code, new_password: "opened again at last" }))).status,
    ).toBe(200);
    expect((await tryLogin(call, user.email, "opened again at last")).status).toBe(200);
  });

  it("count wrong current passwords of a re-authentication too, on the session's device", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { access_token, device_token } = await (
      await tryLogin(call, user.email, PASSWORD)
    ).json<{ access_token: string; device_token: string }>();
    const change = (current: string) =>
      call(
        "/auth/password/change",
        json("POST", { current_password: current, new_password: "a brand new passphrase" }, { Authorization: `Bearer ${access_token}` }),
      );
    for (let failure = 1; failure <= POLICY.passwordRun.free + 1; failure++)
      await expectProblem(await change("wrong guess"), 401, "invalid_credentials");
    await expectProblem(await change(PASSWORD), 429, "too_many_requests");
    // that device's sign-in waits too; the account's run, which every other device meets, was not touched
    const fromDevice = await call("/auth/login", json("POST", { email: user.email, password: PASSWORD, device_token }));
    await expectProblem(fromDevice, 429, "too_many_requests");
    expect((await tryLogin(call, user.email, PASSWORD)).status).toBe(200);
  });
});

describe("mail to one address", () => {
  it(`stops at ${POLICY.mail.perAddressPerHour} codes an hour, however they are asked for`, async () => {
    const clock = manualClock();
    const call = client({ clock });
    const email = uniqueEmail("flooded");
    await call("/auth/signup", json("POST", { email, password: PASSWORD }));
    for (let asked = 1; asked < POLICY.mail.perAddressPerHour + 5; asked++) {
      clock.advance(61);
      expect((await call("/auth/verify/resend", json("POST", { email }))).status).toBe(202);
    }
    expect(await mailTo(email)).toHaveLength(POLICY.mail.perAddressPerHour);
    clock.advance(HOUR);
    expect((await call("/auth/verify/resend", json("POST", { email }))).status).toBe(202);
    expect(await mailTo(email)).toHaveLength(POLICY.mail.perAddressPerHour + 1);
  });
});
