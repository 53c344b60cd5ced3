// Password recovery and change, as a client and as an attacker use them.
import { describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import {
  api,
  bearer,
  type Call,
  client,
  countRoundTrips,
  expectProblem,
  json,
  latestCode,
  login,
  mailTo,
  manualClock,
  PASSWORD,
  type Tokens,
  uniqueEmail,
  seededUser,
} from "./helpers.ts";

const NEW_PASSWORD = "a brand new passphrase";

const forgot = (email: string, call: Call = api) => call("/auth/password/forgot", json("POST", { email }));
const reset = (email: string, code: string, password = NEW_PASSWORD, call: Call = api) =>
  call("/auth/password/reset", json("POST", { email, code, new_password: password }));
const loginAs = (email: string, password: string, call: Call = api) => call("/auth/login", json("POST", { email, password }));
const me = (token: string, call: Call = api) => call("/users/me", bearer(token));
const refresh = (token: string, call: Call = api) => call("/auth/refresh", json("POST", { refresh_token: token }));

/**
 * A client a minute ahead: an address gets at most one code a minute, whoever asks, and the accounts
 * made for these tests have just been sent their verification code.
 */
function aMinuteLater(): Call {
  return client({ clock: manualClock(new Date(Date.now() + 61_000)) });
}

function otherCode(code: string): string {
  return code === "000000" ? "111111" : "000000";
}

describe("POST /auth/password/forgot", () => {
  it("answers 202 alike for a verified, an unverified and an unknown address, and mails only the registered ones", async () => {
    const verified = await seededUser();
    const unverified = uniqueEmail("pending");
    await api("/auth/signup", json("POST", { email: unverified, password: PASSWORD }));
    const unknown = uniqueEmail("nobody");
    const later = aMinuteLater();
    const answers = await Promise.all([verified.email, unverified, unknown].map((email) => forgot(email, later)));
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 202]);
    const bodies = await Promise.all(answers.map((answer) => answer.text()));
    expect(new Set(bodies).size).toBe(1);
    expect((await mailTo(verified.email))[0]?.subject).toMatch(/Reset your Coffee Shop password/);
    expect((await mailTo(unverified))[0]?.subject).toMatch(/Reset your Coffee Shop password/);
    expect(await mailTo(unknown)).toEqual([]);
  });

  it("costs one round trip before the answer, whether or not the address has an account", async () => {
    const { email } = await seededUser();
    const clock = { clock: manualClock(new Date(Date.now() + 61_000)) };
    const known = await countRoundTrips((call) => forgot(email, call), clock);
    const unknown = await countRoundTrips((call) => forgot(uniqueEmail("nobody"), call), clock);
    // the registered address also has its mail marked sent, after the answer
    expect(known.roundTrips).toBe(2);
    expect(unknown.roundTrips).toBe(1);
  });

  it("mails at most one code a minute to an address", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { email } = await seededUser();
    clock.advance(61);
    const before = (await mailTo(email)).length;
    expect((await forgot(email, call)).status).toBe(202);
    expect((await forgot(email, call)).status).toBe(202);
    expect(await mailTo(email)).toHaveLength(before + 1);
    clock.advance(61);
    expect((await forgot(email, call)).status).toBe(202);
    expect(await mailTo(email)).toHaveLength(before + 2);
  });
});

describe("POST /auth/password/reset", () => {
  it("sets the new password, spends the code and ends every session at once, in two round trips", async () => {
    const user = await seededUser();
    const sessions: Tokens[] = [await login(user), await login(user)];
    const clock = { clock: manualClock(new Date(Date.now() + 61_000)) };
    await forgot(user.email, client(clock));
    const code = await latestCode(user.email);
    const { result: response, roundTrips } = await countRoundTrips((call) => reset(user.email, code, NEW_PASSWORD, call), clock);
    expect(response.status).toBe(200);
    // the code checked, then the reset; after the answer its notice marked sent
    expect(roundTrips).toBe(3);
    for (const session of sessions) {
      await expectProblem(await me(session.access_token), 401, "invalid_token");
      await expectProblem(await refresh(session.refresh_token), 401, "invalid_token");
    }
    await expectProblem(await loginAs(user.email, PASSWORD), 401, "invalid_credentials");
    expect((await loginAs(user.email, NEW_PASSWORD)).status).toBe(200);
    await expectProblem(await reset(user.email, code, "yet another passphrase"), 400, "code_invalid");
    const [notice] = await mailTo(user.email);
    expect(notice?.subject).toMatch(/password was reset/);
    expect(notice?.text).not.toMatch(/\b\d{6}\b/);
  });

  it("verifies an account that was not yet verified: the code reached its address", async () => {
    const email = uniqueEmail("unproved");
    await api("/auth/signup", json("POST", { email, password: PASSWORD }));
    const later = aMinuteLater();
    await forgot(email, later);
    expect((await mailTo(email))[0]?.subject).toMatch(/Reset/);
    expect((await reset(email, await latestCode(email), NEW_PASSWORD, later)).status).toBe(200);
    expect((await loginAs(email, NEW_PASSWORD)).status).toBe(200);
  });

  it("refuses a code sent to another address (codes are bound to their address)", async () => {
    const [victim, attacker] = [await seededUser(), await seededUser()];
    const later = aMinuteLater();
    await forgot(attacker.email, later);
    await forgot(victim.email, later);
    const attackerCode = await latestCode(attacker.email);
    await expectProblem(await reset(victim.email, attackerCode, NEW_PASSWORD, later), 400, "code_invalid");
    expect((await loginAs(victim.email, PASSWORD)).status).toBe(200);
  });

  it("refuses even the right code after 5 wrong tries", async () => {
    const user = await seededUser();
    const later = aMinuteLater();
    await forgot(user.email, later);
    const code = await latestCode(user.email);
    for (let guess = 0; guess < 5; guess++) {
      await expectProblem(await reset(user.email, otherCode(code), NEW_PASSWORD, later), 400, "code_invalid");
    }
    await expectProblem(await reset(user.email, code, NEW_PASSWORD, later), 400, "code_invalid");
    expect((await loginAs(user.email, PASSWORD)).status).toBe(200);
  });

  it("keeps reset and verification codes apart: neither works for the other", async () => {
    const email = uniqueEmail("crossed");
    await api("/auth/signup", json("POST", { email, password: PASSWORD }));
    const verificationCode = await latestCode(email);
    await expectProblem(await reset(email, verificationCode), 400, "code_invalid");
    const later = aMinuteLater();
    await forgot(email, later);
    const resetCode = await latestCode(email);
    await expectProblem(await later("/auth/verify", json("POST", { email, code: resetCode, password: PASSWORD })), 400, "code_invalid");
    // each still does its own job
    expect((await later("/auth/verify", json("POST", { email, code: verificationCode, password: PASSWORD }))).status).toBe(200);
    expect((await reset(email, resetCode, NEW_PASSWORD, later)).status).toBe(200);
  });

  it("refuses a code older than 10 minutes, and leaves the password as it was", async () => {
    const user = await seededUser();
    const clock = manualClock(new Date(Date.now() + 61_000));
    const call = client({ clock });
    await forgot(user.email, call);
    const code = await latestCode(user.email);
    clock.advance(601);
    await expectProblem(await reset(user.email, code, NEW_PASSWORD, call), 400, "code_invalid");
    expect((await loginAs(user.email, PASSWORD)).status).toBe(200);
  });

  it("holds the new password to the signup rules", async () => {
    const user = await seededUser();
    const problem = await expectProblem(await reset(user.email, "123456", "short"), 422, "validation_failed");
    expect(problem.errors?.map((error) => error.field)).toEqual(["new_password"]);
  });
});

describe("POST /auth/password/change", () => {
  const change = (token: string, current: string, next = NEW_PASSWORD, call: Call = api) =>
    call("/auth/password/change", bearer(token, json("POST", { current_password: current, new_password: next })));

  it("needs the current password, ends every session, this one too, and answers a fresh session's pair, in two round trips", async () => {
    const user = await seededUser();
    const [here, elsewhere] = [await login(user), await login(user)];
    const { result: response, roundTrips } = await countRoundTrips((call) => change(here.access_token, PASSWORD, NEW_PASSWORD, call));
    expect(response.status).toBe(200);
    // read the hash, write; after the answer, the notice marked sent
    expect(roundTrips).toBe(3);
    const fresh = await response.json<Tokens>();
    // every session ended, the caller's too: whoever else held a token of it is out
    for (const ended of [elsewhere, here]) {
      await expectProblem(await me(ended.access_token), 401, "invalid_token");
      await expectProblem(await refresh(ended.refresh_token), 401, "invalid_token");
    }
    // the fresh session works
    expect((await me(fresh.access_token)).status).toBe(200);
    expect((await refresh(fresh.refresh_token)).status).toBe(200);
    expect((await loginAs(user.email, NEW_PASSWORD)).status).toBe(200);
    expect((await mailTo(user.email))[0]?.subject).toMatch(/password was changed/);
  });

  it("is 401 for a wrong current password, which counts like a failed login from the session's device", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    await expectProblem(await change(access_token, "not my password"), 401, "invalid_credentials");
    const failures = await getDb(inject("databaseUrl"))
      .selectFrom("devices")
      .select("login_failures")
      .where("user_id", "=", String(user.id))
      .executeTakeFirstOrThrow();
    expect(failures.login_failures).toBe(1);
  });

  it("mails the address a notice of the change, with no code in it", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    expect((await change(access_token, PASSWORD)).status).toBe(200);
    const [notice] = await mailTo(user.email);
    expect(notice?.subject).toMatch(/password was changed/);
    expect(notice?.text).not.toMatch(/\b\d{6}\b/);
  });

  it("needs an access token", async () => {
    await expectProblem(
      await api("/auth/password/change", json("POST", { current_password: PASSWORD, new_password: NEW_PASSWORD })),
      401,
      "unauthorized",
    );
  });

  it("leaves a stolen session ended by the change unable to refresh, even with the old password in hand", async () => {
    const user = await seededUser();
    const [owner, thief] = [await login(user), await login(user)];
    expect((await change(owner.access_token, PASSWORD)).status).toBe(200);
    await expectProblem(await refresh(thief.refresh_token), 401, "invalid_token");
    await expectProblem(await loginAs(user.email, PASSWORD), 401, "invalid_credentials");
    const sessions = await getDb(inject("databaseUrl"))
      .selectFrom("sessions")
      .select("id")
      .where("user_id", "=", String(user.id))
      .execute();
    expect(sessions).toHaveLength(1);
  });
});
