// The emailed codes as an attacker meets them: guessing budgets that hold across codes and accounts,
// issuing that cannot be used to flood an inbox or buy guesses, and answers that reveal nothing.
import { describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import { unseal } from "../../src/auth/seal.ts";
import {
  api,
  bearer,
  type Call,
  client,
  expectProblem,
  failNextMail,
  json,
  latestCode,
  login,
  mailTo,
  manualClock,
  PASSWORD,
  type TestUser,
  uniqueEmail,
  seededUser,
} from "./helpers.ts";

const verify = (email: string, code: string, call: Call = api, headers: Record<string, string> = {}) =>
  call("/auth/verify", json("POST", { email, code, password: PASSWORD }, headers));
const changeEmail = (user: TestUser, token: string, email: string, call: Call = api, password = user.password) =>
  call(`/users/${user.id}`, bearer(token, json("PATCH", { email, current_password: password })));

/** Six-digit codes that are not `right`, one per call. */
function wrongCodes(...right: string[]): () => string {
  let next = 100000;
  return () => {
    while (right.includes(String(next))) next++;
    return String(next++);
  };
}

/** A client network of its own for each test, so per-address limits of other tests do not meet it. */
function clientAt(label: number): Record<string, string> {
  return { "CF-Connecting-IP": `198.51.${100 + Math.floor(Math.random() * 150)}.${label}` };
}

describe("the guessing budget of an address (OWASP ASVS 5.0 V6.6.3)", () => {
  it("is shared by every code sent there: a second account's code buys no more guesses (reproduced attack)", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const [first, second] = [await seededUser(), await seededUser()];
    const target = uniqueEmail("wanted");
    expect((await changeEmail(first, (await login(first, call)).access_token, target, call)).status).toBe(200);
    const firstCode = await latestCode(target);
    clock.advance(61);
    expect((await changeEmail(second, (await login(second, call)).access_token, target, call)).status).toBe(200);
    const secondCode = await latestCode(target);
    const wrong = wrongCodes(firstCode, secondCode);
    for (let guess = 0; guess < 6; guess++) await expectProblem(await verify(target, wrong(), call), 400, "code_invalid");
    // before the fix only the newest code was charged, and the first one still moved its account here
    await expectProblem(await verify(target, firstCode, call), 400, "code_invalid");
    await expectProblem(await verify(target, secondCode, call), 400, "code_invalid");
    const owner = await getDb(inject("databaseUrl")).selectFrom("users").select("id").where("email", "=", target).executeTakeFirst();
    expect(owner).toBeUndefined();
  });

  it("is not refilled by a new code within its window, and comes back after it", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const email = uniqueEmail();
    await call("/auth/signup", json("POST", { email, password: PASSWORD }));
    const wrong = wrongCodes(await latestCode(email));
    for (let guess = 0; guess < 5; guess++) await expectProblem(await verify(email, wrong(), call), 400, "code_invalid");
    clock.advance(61);
    expect((await call("/auth/verify/resend", json("POST", { email }))).status).toBe(202);
    const fresh = await latestCode(email);
    await expectProblem(await verify(email, fresh, call), 400, "code_invalid");
    // the window is a code's lifetime from the first guess
    clock.advance(9 * 60);
    expect((await verify(email, fresh, call)).status).toBe(200);
  });

  it("is per client: a stranger's wrong guesses do not use up the owner's tries", async () => {
    const email = uniqueEmail();
    await api("/auth/signup", json("POST", { email, password: PASSWORD }));
    const code = await latestCode(email);
    const wrong = wrongCodes(code);
    const stranger = clientAt(7);
    for (let guess = 0; guess < 5; guess++) await expectProblem(await verify(email, wrong(), api, stranger), 400, "code_invalid");
    // the stranger is out of tries, even with the right code
    await expectProblem(await verify(email, code, api, stranger), 400, "code_invalid");
    expect((await verify(email, code, api, clientAt(8))).status).toBe(200);
  });

  it("caps all clients together at 20 tries an address", async () => {
    const email = uniqueEmail();
    await api("/auth/signup", json("POST", { email, password: PASSWORD }));
    const code = await latestCode(email);
    const wrong = wrongCodes(code);
    for (let stranger = 1; stranger <= 4; stranger++) {
      const from = clientAt(stranger);
      for (let guess = 0; guess < 5; guess++) await expectProblem(await verify(email, wrong(), api, from), 400, "code_invalid");
    }
    await expectProblem(await verify(email, code, api, clientAt(9)), 400, "code_invalid");
  });
});

describe("answers to a guess", () => {
  it("are the same for a wrong code, an expired one, and an address with no code at all", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const pending = uniqueEmail("pending");
    await call("/auth/signup", json("POST", { email: pending, password: PASSWORD }));
    const code = await latestCode(pending);
    const wrong = await expectProblem(await verify(pending, wrongCodes(code)(), call), 400, "code_invalid");
    const unknown = await expectProblem(await verify(uniqueEmail("nobody"), "123456", call), 400, "code_invalid");
    const { email: proved } = await seededUser();
    const settled = await expectProblem(await verify(proved, "123456", call), 400, "code_invalid");
    clock.advance(11 * 60);
    const expired = await expectProblem(await verify(pending, code, call), 400, "code_invalid");
    for (const answer of [unknown, settled, expired]) expect(answer.detail).toBe(wrong.detail);
  });
});

describe("issuing codes", () => {
  it("sends at most one code a minute to an address, whoever asks (no inbox flooding)", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const [user, other] = [await seededUser(), await seededUser()];
    const target = uniqueEmail("flooded");
    const { access_token } = await login(user, call);
    expect((await changeEmail(user, access_token, target, call)).status).toBe(200);
    const again = await expectProblem(await changeEmail(user, access_token, target, call), 429, "too_many_requests");
    expect(again.status).toBe(429);
    await expectProblem(await changeEmail(other, (await login(other, call)).access_token, target, call), 429, "too_many_requests");
    expect(await mailTo(target)).toHaveLength(1);
    clock.advance(61);
    expect((await changeEmail(user, access_token, target, call)).status).toBe(200);
    expect(await mailTo(target)).toHaveLength(2);
  });

  it("sends one user at most one email-change code a minute, whichever address they ask for", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { access_token } = await login(user, call);
    const [first, second] = [uniqueEmail("first"), uniqueEmail("second")];
    expect((await changeEmail(user, access_token, first, call)).status).toBe(200);
    // else one account could send a code to a fresh address on every request, past the per-address limit
    const again = await changeEmail(user, access_token, second, call);
    await expectProblem(again, 429, "too_many_requests");
    expect(again.headers.get("Retry-After")).toBe("60");
    expect(await mailTo(second)).toEqual([]);
    clock.advance(61);
    expect((await changeEmail(user, access_token, second, call)).status).toBe(200);
    expect(await mailTo(second)).toHaveLength(1);
  });

  it("cancels a pending change when the user asks for their current address back", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    const target = uniqueEmail("abandoned");
    expect((await changeEmail(user, access_token, target)).status).toBe(200);
    const code = await latestCode(target);
    expect((await changeEmail(user, access_token, user.email)).status).toBe(200);
    await expectProblem(await verify(target, code), 400, "code_invalid");
    expect((await api("/users/me", bearer(access_token))).status).toBe(200);
    expect(await (await api("/users/me", bearer(access_token))).json()).toMatchObject({ email: user.email });
  });

  it("never keeps a code in plaintext: not in the subject, sealed in the outbox, scrubbed once sent", async () => {
    const email = uniqueEmail();
    await failNextMail(1, undefined, email);
    await api("/auth/signup", json("POST", { email, password: PASSWORD }));
    const db = getDb(inject("databaseUrl"));
    const stored = await db.selectFrom("email_outbox").selectAll().where("to_address", "=", email).executeTakeFirstOrThrow();
    const body = await unseal(inject("hashSecret"), stored.text_body);
    const code = /\b(\d{6})\b/.exec(body)?.[1];
    expect(code).toMatch(/^\d{6}$/);
    expect(`${stored.subject}${stored.text_body}${stored.html_body}`).not.toContain(code);
    // a delivered message keeps no body
    const other = uniqueEmail();
    await api("/auth/signup", json("POST", { email: other, password: PASSWORD }));
    const sent = await db.selectFrom("email_outbox").selectAll().where("to_address", "=", other).executeTakeFirstOrThrow();
    expect(sent).toMatchObject({ text_body: "", html_body: "", sent_at: expect.any(Date) });
  });
});

describe("changing one's own email (OWASP ASVS 5.0 V7.5.1: re-authentication)", () => {
  it("needs the current password, so a stolen access token alone cannot move the account", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    const target = uniqueEmail("thief");
    const patch = (body: unknown) => api(`/users/${user.id}`, bearer(access_token, json("PATCH", body)));
    await expectProblem(await patch({ email: target }), 422, "validation_failed");
    await expectProblem(await patch({ email: target, current_password: "not my password" }), 401, "invalid_credentials");
    expect(await mailTo(target)).toEqual([]);
    expect((await patch({ email: target, current_password: user.password })).status).toBe(200);
  });

  it("tells the current address as soon as a change starts (V6.3.7)", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    const target = uniqueEmail("elsewhere");
    const before = (await mailTo(user.email)).length;
    expect((await changeEmail(user, access_token, target)).status).toBe(200);
    const notices = await mailTo(user.email);
    expect(notices).toHaveLength(before + 1);
    expect(notices[0]?.subject).toMatch(/change your Coffee Shop email/);
    expect(notices[0]?.text).toContain(target);
    expect(notices[0]?.text).not.toMatch(/\b\d{6}\b/);
  });

  it("counts a wrong current password against the address like a failed login (V6.3.1), on the session's device", async () => {
    const user = await seededUser();
    const { access_token, device_token } = await login(user);
    const patch = (password: string) =>
      api(`/users/${user.id}`, bearer(access_token, json("PATCH", { email: uniqueEmail(), current_password: password })));
    let refused: Response | undefined;
    for (let guess = 0; guess < 21 && !refused; guess++) {
      const response = await patch(`guess ${guess}`);
      if (response.status === 429) refused = response;
      else expect(response.status).toBe(401);
    }
    expect(refused?.status).toBe(429);
    // the run is the session's device's: that device waits, the owner's other devices do not
    const loginFrom = (device: string | undefined) =>
      api("/auth/login", json("POST", { email: user.email, password: user.password, device_token: device }));
    await expectProblem(await loginFrom(device_token), 429, "too_many_requests");
    expect((await loginFrom(undefined)).status).toBe(200);
  });
});

describe("writes to /users (API4:2023 Unrestricted Resource Consumption)", () => {
  it("are limited to 30 a minute per user", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    const statuses: number[] = [];
    for (let write = 0; write <= 60 && !statuses.includes(429); write++) {
      const response = await api(`/users/${user.id}`, bearer(access_token, json("PATCH", { first_name: `Name ${write}` })));
      statuses.push(response.status);
      if (response.status === 429) await expectProblem(response, 429, "too_many_requests");
    }
    expect(statuses.at(-1)).toBe(429);
    // a fixed one-minute window: a run across its end may get up to twice the limit through
    expect(statuses.length - 1).toBeGreaterThanOrEqual(30);
    expect(statuses.slice(0, -1).every((status) => status === 200)).toBe(true);
  });
});

describe("signing up an address nobody has proved (account pre-hijacking)", () => {
  it("takes the account over: the earlier password and code die, and the answer is the same", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const email = uniqueEmail("prehijack");
    const first = await call("/auth/signup", json("POST", { email, password: "attacker password" }));
    expect(first.status).toBe(201);
    const attackerCode = await latestCode(email);
    clock.advance(61);
    const owner = await call("/auth/signup", json("POST", { email, password: PASSWORD }));
    expect(owner.status).toBe(201);
    expect(Object.keys(await owner.json<object>()).sort()).toEqual(Object.keys(await first.json<object>()).sort());
    const ownerCode = await latestCode(email);
    if (ownerCode !== attackerCode) await expectProblem(await verify(email, attackerCode, call), 400, "code_invalid");
    expect((await verify(email, ownerCode, call)).status).toBe(200);
    await expectProblem(await call("/auth/login", json("POST", { email, password: "attacker password" })), 401, "invalid_credentials");
    expect((await call("/auth/login", json("POST", { email, password: PASSWORD }))).status).toBe(200);
  });

  it("sends no second code for a second signup within a minute; the code sent completes the later signup, with its password", async () => {
    const email = uniqueEmail("twice");
    const later = "a later password";
    expect((await api("/auth/signup", json("POST", { email, password: PASSWORD }))).status).toBe(201);
    expect((await api("/auth/signup", json("POST", { email, password: later }))).status).toBe(201);
    expect(await mailTo(email)).toHaveLength(1);
    await expectProblem(await verify(email, await latestCode(email)), 400, "signup_password_mismatch");
    expect((await api("/auth/verify", json("POST", { email, code: await latestCode(email), password: later }))).status).toBe(200);
    await expectProblem(await api("/auth/login", json("POST", { email, password: PASSWORD })), 401, "invalid_credentials");
    expect((await api("/auth/login", json("POST", { email, password: later }))).status).toBe(200);
  });
});
