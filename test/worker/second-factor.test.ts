// The second factor through the HTTP API, as its owner and as an attacker meet it: enrolment, the login's
// challenge, codes accepted once within one time step of drift, recovery codes, turning it off, an admin's
// reset, and the run of wrong codes. Codes come from the RFC 6238 generator (checked against the RFC's own
// vectors in totp.test.ts) at the clock the test moves.
import { describe, expect, inject, it } from "vitest";
import { base32Decode } from "../../src/auth/totp.ts";
import { getDb } from "../../src/db/client.ts";
import type { MfaChallenge, TotpEnabled, TotpEnrolment } from "../../src/schemas/mfa.ts";
import { POLICY } from "../../src/policy.ts";
import {
  bearer,
  type Call,
  client,
  countRoundTrips,
  expectProblem,
  json,
  login,
  mailTo,
  manualClock,
  PASSWORD,
  seededUser,
  type Tokens,
} from "./helpers.ts";
import { challenge, claimsOf, codeAt, completeWith, type ManualClock, nextStep } from "./factors.ts";

const db = getDb(inject("databaseUrl"));

async function startEnrolment(call: Call, accessToken: string): Promise<{ enrolment: TotpEnrolment; secret: Uint8Array }> {
  const response = await call("/auth/mfa/totp", bearer(accessToken, json("POST", { current_password: PASSWORD })));
  expect(response.status).toBe(201);
  const enrolment = await response.json<TotpEnrolment>();
  const secret = base32Decode(enrolment.secret);
  if (!secret) throw new Error("the secret is not base32");
  return { enrolment, secret };
}

/** A seeded user with the factor on: its secret, the recovery codes and the fresh session's tokens. */
async function enrolledUser(call: Call, clock: ManualClock, role: "user" | "admin" = "user") {
  const user = await seededUser(role);
  const { access_token, device_token } = await login(user, call);
  const { secret } = await startEnrolment(call, access_token);
  const confirmed = await call("/auth/mfa/totp/confirm", bearer(access_token, json("POST", { code: await codeAt(secret, clock) })));
  expect(confirmed.status).toBe(200);
  nextStep(clock);
  return { user, secret, device: device_token, enabled: await confirmed.json<TotpEnabled>() };
}

async function me(call: Call, accessToken: string): Promise<Response> {
  return call("/users/me", bearer(accessToken));
}

async function eventTypes(userId: number): Promise<string[]> {
  const rows = await db.selectFrom("auth_events").select("type").where("user_id", "=", String(userId)).orderBy("id").execute();
  return rows.map((row) => row.type);
}

describe("enrolment", () => {
  it("answers a secret as an otpauth URI and a QR code; the first right code turns it on with ten recovery codes", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { access_token, refresh_token } = await login(user, call);
    const started = await countRoundTrips((counted) => startEnrolment(counted, access_token), { clock });
    // the password guard's read, then the enrolment
    expect(started.roundTrips).toBe(2);
    const { enrolment, secret } = started.result;
    expect(secret).toHaveLength(20);
    const uri = new URL(enrolment.otpauth_uri);
    expect(uri.protocol).toBe("otpauth:");
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      secret: enrolment.secret,
      issuer: "Coffee Shop",
      algorithm: "SHA1",
      digits: "6",
      period: "30",
    });
    expect(decodeURIComponent(uri.pathname)).toContain(user.email);
    expect(enrolment.qr_svg).toMatch(/^<svg[^>]+viewBox/);
    // stored sealed: the database alone does not give the secret away
    const stored = await db
      .selectFrom("totp_factors")
      .select("secret_sealed")
      .where("user_id", "=", String(user.id))
      .executeTakeFirstOrThrow();
    expect(stored.secret_sealed).not.toContain(enrolment.secret);

    // pending until confirmed: logins go on as before, and a wrong code does not turn it on
    expect((await login(user, call)).access_token).toEqual(expect.any(String));
    const wrong = String((Number(await codeAt(secret, clock)) + 1) % 1_000_000).padStart(6, "0");
    await expectProblem(await call("/auth/mfa/totp/confirm", bearer(access_token, json("POST", { code: wrong }))), 401, "mfa_code_invalid");

    const code = await codeAt(secret, clock);
    const { result: confirmed, roundTrips } = await countRoundTrips(
      (counted) => counted("/auth/mfa/totp/confirm", bearer(access_token, json("POST", { code }))),
      { clock },
    );
    expect(confirmed.status).toBe(200);
    expect(roundTrips).toBe(3);
    const enabled = await confirmed.json<TotpEnabled>();
    expect(enabled.recovery_codes).toHaveLength(10);
    expect(new Set(enabled.recovery_codes).size).toBe(10);
    expect(claimsOf(enabled.access_token)).toMatchObject({ amr: ["pwd", "otp"] });
    // every other session ended, this one's old tokens too; the fresh session goes on
    await expectProblem(await me(call, access_token), 401, "invalid_token");
    await expectProblem(await call("/auth/refresh", json("POST", { refresh_token })), 401, "invalid_token");
    expect((await me(call, enabled.access_token)).status).toBe(200);
    // a second enrolment waits until this one is off
    await expectProblem(
      await call("/auth/mfa/totp", bearer(enabled.access_token, json("POST", { current_password: PASSWORD }))),
      409,
      "mfa_already_enabled",
    );
    const [notice] = await mailTo(user.email);
    expect(notice?.subject).toMatch(/second factor was turned on/);
    const recoveryRows = await db.selectFrom("recovery_codes").select("code_hash").where("user_id", "=", String(user.id)).execute();
    expect(recoveryRows).toHaveLength(10);
    for (const code of enabled.recovery_codes) expect(JSON.stringify(recoveryRows)).not.toContain(code);
    expect(await eventTypes(user.id)).toEqual(["signed_up", "login_succeeded", "login_succeeded", "mfa_failed", "mfa_enabled"]);
  });

  it("needs the current password: an access token alone cannot put another person's app on the account", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { access_token } = await login(user, call);
    const start = (init: RequestInit) => call("/auth/mfa/totp", bearer(access_token, init));
    const missing = await expectProblem(await start(json("POST", {})), 422, "validation_failed");
    expect(missing.errors?.map((error) => error.field)).toEqual(["current_password"]);
    await expectProblem(await start(json("POST", { current_password: "a guess of the thief's" })), 401, "invalid_credentials");
    // the wrong one counts like a failed login from the session's device, and nothing was enrolled
    const row = await db.selectFrom("devices").select("login_failures").where("user_id", "=", String(user.id)).executeTakeFirstOrThrow();
    expect(row.login_failures).toBe(1);
    expect(await db.selectFrom("totp_factors").select("user_id").where("user_id", "=", String(user.id)).execute()).toEqual([]);
    expect((await start(json("POST", { current_password: PASSWORD }))).status).toBe(201);
  });

  it("is not for a caller without an access token", async () => {
    await expectProblem(await client()("/auth/mfa/totp", json("POST", { current_password: PASSWORD })), 401, "unauthorized");
  });
});

describe("a login with the second factor", () => {
  it("answers a challenge for the right password (two round trips), and the pair for its code (two more)", async () => {
    const clock = manualClock();
    const { user, secret, device } = await enrolledUser(client({ clock }), clock);
    // from the device the owner enrolled on (a new device's sign-in would add its notice, sent after the answer)
    const asked = await countRoundTrips(
      (call) => call("/auth/login", json("POST", { email: user.email, password: PASSWORD, device_token: device })),
      { clock },
    );
    const problem = await expectProblem(asked.result, 401, "mfa_required");
    expect(asked.roundTrips).toBe(2);
    const { challenge: issued } = problem as typeof problem & { challenge: MfaChallenge };
    expect(issued).toEqual({ token: expect.any(String), expires_in: 300, methods: ["totp", "recovery_code"] });

    const code = await codeAt(secret, clock);
    const completed = await countRoundTrips((call) => completeWith(call, issued.token, { code }), { clock });
    expect(completed.result.status).toBe(200);
    expect(completed.roundTrips).toBeLessThanOrEqual(2);
    const tokens = await completed.result.json<Tokens>();
    expect(claimsOf(tokens.access_token)).toMatchObject({ amr: ["pwd", "otp"], auth_time: Math.floor(clock().getTime() / 1000) });
    expect((await me(client({ clock }), tokens.access_token)).status).toBe(200);
    // refreshed tokens keep how the session was made
    const refreshed = await client({ clock })("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token }));
    expect(claimsOf((await refreshed.json<Tokens>()).access_token)).toMatchObject({ amr: ["pwd", "otp"] });
  });

  it("gives nothing for a wrong password: the answer of any account", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user } = await enrolledUser(call, clock);
    await expectProblem(
      await call("/auth/login", json("POST", { email: user.email, password: "not the password" })),
      401,
      "invalid_credentials",
    );
  });

  it("spends the challenge once: a second completion with another right code is refused", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, secret } = await enrolledUser(call, clock);
    const { token } = await challenge(call, user);
    expect((await completeWith(call, token, { code: await codeAt(secret, clock) })).status).toBe(200);
    nextStep(clock);
    await expectProblem(await completeWith(call, token, { code: await codeAt(secret, clock) }), 401, "invalid_token");
  });

  it("refuses a challenge after five minutes", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, secret } = await enrolledUser(call, clock);
    const { token } = await challenge(call, user);
    clock.advance(301);
    await expectProblem(await completeWith(call, token, { code: await codeAt(secret, clock) }), 401, "invalid_token");
  });

  it("binds the challenge to the password it followed: a reset meanwhile voids it", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, secret } = await enrolledUser(call, clock);
    const { token } = await challenge(call, user);
    await call("/auth/password/forgot", json("POST", { email: user.email }));
    const [resetMail] = await mailTo(user.email);
    const code = /\b(\d{6})\b/.exec(resetMail?.text ?? "")?.[1];
    const reset = await call("/auth/password/reset", json("POST", { email: user.email, code, new_password: "a brand new passphrase" }));
    expect(reset.status).toBe(200);
    await expectProblem(await completeWith(call, token, { code: await codeAt(secret, clock) }), 401, "invalid_token");
    // the reset proved the address, not the factor: the next login still asks for it
    await expectProblem(
      await call("/auth/login", json("POST", { email: user.email, password: "a brand new passphrase" })),
      401,
      "mfa_required",
    );
  });
});

describe("codes of the app (RFC 6238 §5.2)", () => {
  it("are accepted once: a replay of the code just used is refused", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, secret } = await enrolledUser(call, clock);
    const code = await codeAt(secret, clock);
    expect((await completeWith(call, (await challenge(call, user)).token, { code })).status).toBe(200);
    await expectProblem(await completeWith(call, (await challenge(call, user)).token, { code }), 401, "mfa_code_invalid");
  });

  it("are accepted one time step either side of now, and not two", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, secret } = await enrolledUser(call, clock);
    // two steps past the one that confirmed the factor, so a step behind is one not used yet
    nextStep(clock);
    const { token } = await challenge(call, user);
    await expectProblem(await completeWith(call, token, { code: await codeAt(secret, clock, -2) }), 401, "mfa_code_invalid");
    await expectProblem(await completeWith(call, token, { code: await codeAt(secret, clock, 2) }), 401, "mfa_code_invalid");
    expect((await completeWith(call, token, { code: await codeAt(secret, clock, -1) })).status).toBe(200);
    const later = await challenge(call, user);
    expect((await completeWith(call, later.token, { code: await codeAt(secret, clock, 1) })).status).toBe(200);
  });

  it("pause after a hundred wrong in a row, for the owner too; the owner is told their password is known", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, secret } = await enrolledUser(call, clock);
    const { token } = await challenge(call, user);
    const right = await codeAt(secret, clock);
    let wrong = 0;
    for (let made = 0; made < POLICY.codeRun.pauseAfter; made++) {
      if (String(wrong).padStart(6, "0") === right) wrong++;
      await expectProblem(await completeWith(call, token, { code: String(wrong++).padStart(6, "0") }), 401, "mfa_code_invalid");
    }
    const paused = await completeWith(call, token, { code: right });
    await expectProblem(paused, 429, "too_many_requests");
    expect(Number(paused.headers.get("Retry-After"))).toBeGreaterThan(0);
    const [notice] = await mailTo(user.email);
    expect(notice?.subject).toMatch(/authenticator app are paused/);
    expect(notice?.text).toMatch(/password is known/);
    expect((await eventTypes(user.id)).filter((type) => type === "codes_paused")).toHaveLength(1);
  });
});

describe("recovery codes", () => {
  it("each log in once in place of the app, and the owner is told", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, secret, enabled } = await enrolledUser(call, clock);
    const [first] = enabled.recovery_codes;
    if (!first) throw new Error("no recovery codes");
    const used = await completeWith(call, (await challenge(call, user)).token, { recovery_code: first.toLowerCase() });
    expect(used.status).toBe(200);
    expect(claimsOf((await used.json<Tokens>()).access_token)).toMatchObject({ amr: ["pwd", "otp"] });
    // (the challenge came from a new device: the owner hears of that too)
    const notices = (await mailTo(user.email)).map((mail) => mail.subject);
    expect(notices).toEqual(expect.arrayContaining([expect.stringMatching(/recovery code was used/)]));
    // used up: a wrong answer, counted, and the challenge stays live for a right one
    const { token } = await challenge(call, user);
    await expectProblem(await completeWith(call, token, { recovery_code: first }), 401, "mfa_code_invalid");
    await expectProblem(await completeWith(call, token, { recovery_code: "AAAAA-AAAAA" }), 401, "mfa_code_invalid");
    expect((await completeWith(call, token, { code: await codeAt(secret, clock) })).status).toBe(200);
    expect((await eventTypes(user.id)).filter((type) => type === "recovery_code_used" || type === "mfa_failed")).toEqual([
      "recovery_code_used",
      "mfa_failed",
      "mfa_failed",
    ]);
  });
});

describe("turning the factor off", () => {
  it("needs the current password and a current code; then logins ask for the password alone", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, secret, enabled } = await enrolledUser(call, clock);
    const disable = (body: object) => call("/auth/mfa/totp/disable", bearer(enabled.access_token, json("POST", body)));
    await expectProblem(
      await disable({ current_password: "not the password", code: await codeAt(secret, clock) }),
      401,
      "invalid_credentials",
    );
    await expectProblem(await disable({ current_password: PASSWORD, code: await codeAt(secret, clock, -2) }), 401, "mfa_code_invalid");
    const code = await codeAt(secret, clock);
    const disabled = await countRoundTrips(
      (counted) => counted("/auth/mfa/totp/disable", bearer(enabled.access_token, json("POST", { current_password: PASSWORD, code }))),
      { clock },
    );
    expect(disabled.result.status).toBe(200);
    expect(disabled.roundTrips).toBe(4);
    const [notice] = await mailTo(user.email);
    expect(notice?.subject).toMatch(/second factor was turned off/);
    expect(claimsOf((await login(user, call)).access_token)).toMatchObject({ amr: ["pwd"] });
    expect(await db.selectFrom("recovery_codes").select("code_hash").where("user_id", "=", String(user.id)).execute()).toEqual([]);
    expect(await eventTypes(user.id)).toEqual(expect.arrayContaining(["mfa_disabled"]));
  });
});

describe("an admin's reset of a user's factor", () => {
  it("removes it, ends the user's sessions and tells them; a user cannot reset another's", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, enabled } = await enrolledUser(call, clock);
    const other = await seededUser();
    const { access_token: userToken } = await login(other, call);
    await expectProblem(await call(`/users/${user.id}/mfa`, bearer(userToken, { method: "DELETE" })), 403, "forbidden");
    const admin = await seededUser("admin");
    const { access_token: adminToken } = await login(admin, call);
    const reset = await countRoundTrips((counted) => counted(`/users/${user.id}/mfa`, bearer(adminToken, { method: "DELETE" })), {
      clock,
    });
    expect(reset.result.status).toBe(204);
    expect(reset.roundTrips).toBe(2);
    await expectProblem(await me(call, enabled.access_token), 401, "invalid_token");
    const [notice] = await mailTo(user.email);
    expect(notice?.subject).toMatch(/second factor was reset/);
    expect(claimsOf((await login(user, call)).access_token)).toMatchObject({ amr: ["pwd"] });
    await expectProblem(await call(`/users/${user.id}/mfa`, bearer(adminToken, { method: "DELETE" })), 409, "mfa_not_enabled");
    const event = await db
      .selectFrom("auth_events")
      .select(["actor_id", "details"])
      .where("user_id", "=", String(user.id))
      .where("type", "=", "mfa_reset")
      .executeTakeFirstOrThrow();
    expect(event).toEqual({ actor_id: String(admin.id), details: { by: "admin" } });
  });
});

describe("an admin's own factor", () => {
  it("cannot be reset by themself, even signed in with a recovery code: another admin does it", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user: admin, enabled } = await enrolledUser(call, clock, "admin");
    const [recovery] = enabled.recovery_codes;
    if (!recovery) throw new Error("no recovery codes");
    const signedIn = await completeWith(call, (await challenge(call, admin)).token, { recovery_code: recovery });
    const { access_token } = await signedIn.json<Tokens>();
    await expectProblem(await call(`/users/${admin.id}/mfa`, bearer(access_token, { method: "DELETE" })), 409, "cannot_reset_own_factor");
    await expectProblem(await call("/auth/login", json("POST", { email: admin.email, password: PASSWORD })), 401, "mfa_required");
    const other = await login(await seededUser("admin"), call);
    expect((await call(`/users/${admin.id}/mfa`, bearer(other.access_token, { method: "DELETE" }))).status).toBe(204);
  });
});

describe("a challenge that can no longer succeed", () => {
  it("spends nothing of a code of the app sent to it: the same code then completes a fresh challenge", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, secret } = await enrolledUser(call, clock);
    const { token } = await challenge(call, user);
    // the owner resets their password to get back in: the challenge made with the old one dies
    await call("/auth/password/forgot", json("POST", { email: user.email }));
    const resetCode = /\b(\d{6})\b/.exec((await mailTo(user.email))[0]?.text ?? "")?.[1];
    const newPassword = "a brand new passphrase";
    expect(
      (await call("/auth/password/reset", json("POST", { email: user.email, code: resetCode, new_password: newPassword }))).status,
    ).toBe(200);
    const code = await codeAt(secret, clock);
    await expectProblem(await completeWith(call, token, { code }), 401, "invalid_token");
    const fresh = await challenge(call, { ...user, password: newPassword });
    expect((await completeWith(call, fresh.token, { code })).status).toBe(200);
    // and it was not counted as a wrong code
    expect((await eventTypes(user.id)).filter((type) => type === "mfa_failed")).toEqual([]);
  });

  it("spends nothing of a recovery code sent to it: it still works once the account may sign in again", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, enabled } = await enrolledUser(call, clock);
    const [recovery] = enabled.recovery_codes;
    if (!recovery) throw new Error("no recovery codes");
    const { token } = await challenge(call, user);
    const admin = await login(await seededUser("admin"), call);
    const setStatus = (status: string) => call(`/users/${user.id}`, bearer(admin.access_token, json("PATCH", { status })));
    expect((await setStatus("disabled")).status).toBe(200);
    await expectProblem(await completeWith(call, token, { recovery_code: recovery }), 401, "invalid_token");
    expect((await eventTypes(user.id)).filter((type) => type === "recovery_code_used" || type === "mfa_failed")).toEqual([]);
    expect((await setStatus("verified")).status).toBe(200);
    expect((await completeWith(call, (await challenge(call, user)).token, { recovery_code: recovery })).status).toBe(200);
  });
});

describe("step-up: sensitive operations need a recent sign-in", () => {
  it("refuses a password change ten minutes after the login, until the password is confirmed again", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const first = await login(user, call);
    clock.advance(10 * 60 + 1);
    // a refreshed token keeps the time of the sign-in, not of the refresh
    const refreshed = await (await call("/auth/refresh", json("POST", { refresh_token: first.refresh_token }))).json<Tokens>();
    const change = (token: string) =>
      call("/auth/password/change", bearer(token, json("POST", { current_password: PASSWORD, new_password: "a fresh new passphrase" })));
    const refused = await expectProblem(await change(refreshed.access_token), 401, "reauthentication_required");
    expect(refused.detail).toContain("/auth/reauthenticate");
    await expectProblem(
      await call("/auth/reauthenticate", bearer(refreshed.access_token, json("POST", { password: "not the password" }))),
      401,
      "invalid_credentials",
    );
    const again = await call("/auth/reauthenticate", bearer(refreshed.access_token, json("POST", { password: PASSWORD })));
    expect(again.status).toBe(200);
    const renewed = await again.json<{ access_token: string }>();
    expect(claimsOf(renewed.access_token)).toMatchObject({
      sid: claimsOf(refreshed.access_token).sid,
      auth_time: Math.floor(clock().getTime() / 1000),
    });
    // the session goes on: the refresh token it had still works
    expect((await call("/auth/refresh", json("POST", { refresh_token: refreshed.refresh_token }))).status).toBe(200);
    expect((await change(renewed.access_token)).status).toBe(200);
  });

  it("asks for a code of the app too when a factor is on, and counts a wrong one", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, secret, enabled } = await enrolledUser(call, clock);
    clock.advance(10 * 60 + 1);
    const start = () =>
      call("/auth/mfa/totp/disable", bearer(enabled.access_token, json("POST", { current_password: PASSWORD, code: "000000" })));
    await expectProblem(await start(), 401, "reauthentication_required");
    const reauthenticate = (body: object) => call("/auth/reauthenticate", bearer(enabled.access_token, json("POST", body)));
    await expectProblem(await reauthenticate({ password: PASSWORD }), 401, "mfa_required");
    await expectProblem(await reauthenticate({ password: PASSWORD, code: await codeAt(secret, clock, 2) }), 401, "mfa_code_invalid");
    const code = await codeAt(secret, clock);
    const { result: again, roundTrips } = await countRoundTrips(
      (counted) => counted("/auth/reauthenticate", bearer(enabled.access_token, json("POST", { password: PASSWORD, code }))),
      { clock },
    );
    expect(again.status).toBe(200);
    expect(roundTrips).toBe(3);
    const renewed = await again.json<{ access_token: string }>();
    expect(claimsOf(renewed.access_token)).toMatchObject({ amr: ["pwd", "otp"] });
    nextStep(clock);
    const disabled = await call(
      "/auth/mfa/totp/disable",
      bearer(renewed.access_token, json("POST", { current_password: PASSWORD, code: await codeAt(secret, clock) })),
    );
    expect(disabled.status).toBe(200);
    expect(await eventTypes(user.id)).toEqual(expect.arrayContaining(["mfa_failed", "reauthenticated"]));
  });

  it("holds an admin's writes and an email change to the same rule", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const admin = await seededUser("admin");
    const target = await seededUser();
    const { access_token } = await login(admin, call);
    clock.advance(10 * 60 + 1);
    const asAdmin = (path: string, init: RequestInit) => call(path, bearer(access_token, init));
    await expectProblem(await asAdmin(`/users/${target.id}`, json("PATCH", { role: "admin" })), 401, "reauthentication_required");
    await expectProblem(await asAdmin(`/users/${target.id}`, { method: "DELETE" }), 401, "reauthentication_required");
    await expectProblem(await asAdmin(`/users/${target.id}/sessions`, { method: "DELETE" }), 401, "reauthentication_required");
    await expectProblem(
      await asAdmin(`/users/${admin.id}`, json("PATCH", { email: `moved-${admin.email}`, current_password: PASSWORD })),
      401,
      "reauthentication_required",
    );
    // reading, and a user's own names, need no more than the token
    expect((await asAdmin(`/users/${target.id}`, {})).status).toBe(200);
    expect((await asAdmin(`/users/${admin.id}`, json("PATCH", { first_name: "Grace" }))).status).toBe(200);
  });
});

describe("admins must use a second factor (ADMIN_MFA_REQUIRED)", () => {
  it("an admin without one signs in and enrols, but no admin route answers until it is on", async () => {
    const clock = manualClock();
    const call = client({ clock, env: { ADMIN_MFA_REQUIRED: "true" } });
    const admin = await seededUser("admin");
    const target = await seededUser();
    const { access_token } = await login(admin, call);
    await expectProblem(await call("/users", bearer(access_token)), 403, "mfa_enrollment_required");
    await expectProblem(
      await call(`/users/${target.id}`, bearer(access_token, json("PATCH", { role: "admin" }))),
      403,
      "mfa_enrollment_required",
    );
    await expectProblem(await call(`/users/${target.id}/mfa`, bearer(access_token, { method: "DELETE" })), 403, "mfa_enrollment_required");
    // their own account still answers
    expect((await me(call, access_token)).status).toBe(200);
    const { secret } = await startEnrolment(call, access_token);
    const confirmed = await call("/auth/mfa/totp/confirm", bearer(access_token, json("POST", { code: await codeAt(secret, clock) })));
    const { access_token: withFactor } = await confirmed.json<TotpEnabled>();
    expect((await call("/users", bearer(withFactor))).status).toBe(200);
    expect((await call(`/users/${target.id}`, bearer(withFactor, json("PATCH", { role: "admin" })))).status).toBe(200);
  });
});
