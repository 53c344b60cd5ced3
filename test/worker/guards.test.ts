// One guard per kind of secret, held under concurrency: every endpoint that takes a password, a code of the
// authenticator app, a recovery code, a mailed code or a passkey's assertion is fired 20 wrong tries at once, and no
// more of them are judged than the same limits allow in a row. A try is judged when it is checked (answered as wrong,
// 401); the rest are refused unchecked (429, or for an assertion 400: its challenge spent) and learn nothing. Meaningful on the PostgreSQL server (TEST_DATABASE_URL),
// where the requests really run at once on separate connections; on PGlite they are serialised and the same
// counts must still come out.
import { describe, expect, inject, it } from "vitest";
import { base32Decode } from "../../src/auth/totp.ts";
import { getDb } from "../../src/db/client.ts";
import { POLICY } from "../../src/policy.ts";
import type { TotpEnrolment } from "../../src/schemas/mfa.ts";
import {
  bearer,
  type Call,
  client,
  json,
  latestCode,
  login,
  manualClock,
  PASSWORD,
  seededUser,
  type TestUser,
  uniqueEmail,
} from "./helpers.ts";
import { challenge, codeAt, completeWith, type ManualClock, nextStep, seededFactor, wrongCodeAt } from "./factors.ts";
import { reauthenticationOptions, seededPasskey, signInOptions } from "./passkeys.ts";

const db = getDb(inject("databaseUrl"));
const AT_ONCE = 20;
const WRONG_PASSWORD = "not the password at all";

/** How the answers to `AT_ONCE` tries fired at once came out, by status and problem code. */
async function fireAtOnce(fire: (attempt: number) => Promise<Response>): Promise<Record<string, number>> {
  const responses = await Promise.all(Array.from({ length: AT_ONCE }, (_, attempt) => fire(attempt)));
  const answers = await Promise.all(
    responses.map(async (response) => `${response.status} ${response.ok ? "ok" : (await response.json<{ code: string }>()).code}`),
  );
  return answers.reduce<Record<string, number>>((tally, answer) => ({ ...tally, [answer]: (tally[answer] ?? 0) + 1 }), {});
}

/** The runs of wrong passwords a user's tries met: the account's, and each known device's. */
async function passwordRuns(userId: number): Promise<{ account: number; devices: number[] }> {
  const account = await db.selectFrom("users").select("login_failures").where("id", "=", String(userId)).executeTakeFirstOrThrow();
  const devices = await db.selectFrom("devices").select("login_failures").where("user_id", "=", String(userId)).execute();
  return { account: account.login_failures, devices: devices.map((device) => device.login_failures) };
}

async function factorFailures(userId: number): Promise<number> {
  const row = await db.selectFrom("totp_factors").select("failures").where("user_id", "=", String(userId)).executeTakeFirstOrThrow();
  return row.failures;
}

/** Fast-forwards the run of wrong codes of a user's factor, as if that many had been tried before. */
async function setFactorFailures(userId: number, failures: number): Promise<void> {
  await db.updateTable("totp_factors").set({ failures }).where("user_id", "=", String(userId)).execute();
}

describe("the password guard: 20 wrong passwords at once", () => {
  // the free tries and the one that starts the first wait are judged; the others meet the wait, unchecked
  const judged = POLICY.passwordRun.free + 1;
  const expected = { "401 invalid_credentials": judged, "429 too_many_requests": AT_ONCE - judged };

  /** A signed-in user at a clock that stands still, so the first wait is still on for every try. */
  async function signedIn() {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { access_token } = await login(user, call);
    return { call, user, access_token };
  }

  it(`at login: ${judged} judged, as in a row`, async () => {
    const { call, user } = await signedIn();
    const tally = await fireAtOnce(() => call("/auth/login", json("POST", { email: user.email, password: WRONG_PASSWORD })));
    expect(tally).toEqual(expected);
    // tries without the device token of the earlier sign-in: the account's run, not the device's
    expect(await passwordRuns(user.id)).toEqual({ account: judged, devices: [0] });
  });

  it.each([
    ["re-authentication", "/auth/reauthenticate", "POST", { password: WRONG_PASSWORD }],
    ["a password change", "/auth/password/change", "POST", { current_password: WRONG_PASSWORD, new_password: "a fresh passphrase here" }],
    ["starting an enrolment", "/auth/mfa/totp", "POST", { current_password: WRONG_PASSWORD }],
    [
      "linking an identity provider",
      "/auth/identities/local/link",
      "POST",
      { current_password: WRONG_PASSWORD, return_to: "https://app.coffee.test/signed-in" },
    ],
  ])(`at %s: ${judged} judged, as in a row`, async (_, path, method, body) => {
    const { call, user, access_token } = await signedIn();
    const tally = await fireAtOnce(() => call(path, bearer(access_token, json(method, body))));
    expect(tally).toEqual(expected);
    // a signed-in caller's tries meet the run of their session's device
    expect(await passwordRuns(user.id)).toEqual({ account: 0, devices: [judged] });
  });

  it(`at an email change: ${judged} judged, as in a row`, async () => {
    const { call, user, access_token } = await signedIn();
    const tally = await fireAtOnce(() =>
      call(`/users/${user.id}`, bearer(access_token, json("PATCH", { email: uniqueEmail("moved"), current_password: WRONG_PASSWORD }))),
    );
    expect(tally).toEqual(expected);
    // a signed-in caller's tries meet the run of their session's device
    expect(await passwordRuns(user.id)).toEqual({ account: 0, devices: [judged] });
  });

  it(`at turning the factor off: ${judged} judged, as in a row`, async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { secret } = await seededFactor(user, clock());
    const tokens = await signInWithFactor(call, clock, user, secret);
    const code = await wrongCodeAt(secret, clock);
    const tally = await fireAtOnce(() =>
      call("/auth/mfa/totp/disable", bearer(tokens.access_token, json("POST", { current_password: WRONG_PASSWORD, code }))),
    );
    expect(tally).toEqual(expected);
    // a signed-in caller's tries meet the run of their session's device
    expect(await passwordRuns(user.id)).toEqual({ account: 0, devices: [judged] });
    // no code was judged: the password comes first
    expect(await factorFailures(user.id)).toBe(0);
  });
});

/** Signs a user with a factor in (their password, then a code of the app), and moves the clock to the next step. */
async function signInWithFactor(call: Call, clock: ManualClock, user: TestUser, secret: Uint8Array) {
  const { token } = await challenge(call, user);
  const response = await completeWith(call, token, { code: await codeAt(secret, clock) });
  expect(response.status).toBe(200);
  nextStep(clock);
  return response.json<{ access_token: string; refresh_token: string }>();
}

describe("the factor guard: 20 wrong codes at once, five short of the pause", () => {
  const left = 5;
  const expected = { "401 mfa_code_invalid": left, "429 too_many_requests": AT_ONCE - left };

  it.each([
    ["a code of the app", "code"],
    ["a recovery code", "recovery_code"],
  ] as const)(`at a login's challenge, with %s: ${left} judged, then the pause`, async (_, kind) => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { secret } = await seededFactor(user, clock());
    const { token } = await challenge(call, user);
    await setFactorFailures(user.id, POLICY.codeRun.pauseAfter - left);
    const answer = kind === "code" ? { code: await wrongCodeAt(secret, clock) } : { recovery_code: "AAAAA-AAAAA" };
    const tally = await fireAtOnce(() => call("/auth/login/mfa", json("POST", { challenge_token: token, ...answer })));
    expect(tally).toEqual(expected);
    // the run ends at the limit, not past it: the pause holds as it would for tries in a row
    expect(await factorFailures(user.id)).toBe(POLICY.codeRun.pauseAfter);
  });

  it(`at an enrolment's first code: ${left} judged, then the pause`, async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { access_token } = await login(user, call);
    const started = await call("/auth/mfa/totp", bearer(access_token, json("POST", { current_password: PASSWORD })));
    const secret = base32Decode((await started.json<TotpEnrolment>()).secret);
    if (!secret) throw new Error("no secret");
    await setFactorFailures(user.id, POLICY.codeRun.pauseAfter - left);
    const code = await wrongCodeAt(secret, clock);
    const tally = await fireAtOnce(() => call("/auth/mfa/totp/confirm", bearer(access_token, json("POST", { code }))));
    expect(tally).toEqual(expected);
    expect(await factorFailures(user.id)).toBe(POLICY.codeRun.pauseAfter);
  });

  // behind the password guard, which lets at most its free tries past at once (each right password is counted
  // before it is judged): two short of the pause, so the factor's own limit is what the count shows
  it.each([
    ["re-authentication", "/auth/reauthenticate", "password"],
    ["turning the factor off", "/auth/mfa/totp/disable", "current_password"],
  ] as const)("at %s, with the right password: two judged, then the pause", async (_, path, passwordField) => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { secret } = await seededFactor(user, clock());
    const tokens = await signInWithFactor(call, clock, user, secret);
    await setFactorFailures(user.id, POLICY.codeRun.pauseAfter - 2);
    const code = await wrongCodeAt(secret, clock);
    const tally = await fireAtOnce(() => call(path, bearer(tokens.access_token, json("POST", { [passwordField]: PASSWORD, code }))));
    expect(tally["401 mfa_code_invalid"]).toBe(2);
    expect(tally["429 too_many_requests"]).toBe(AT_ONCE - 2);
    expect(await factorFailures(user.id)).toBe(POLICY.codeRun.pauseAfter);
  });
});

describe("the mailed code's guard: 20 wrong codes at once from one network", () => {
  const perClient = POLICY.codeGuesses.perClient;

  async function judgedAndCharged(address: string, scope: "verify" | "reset_password") {
    const failures = await db
      .selectFrom("code_failures")
      .select("failures")
      .where("address", "=", address)
      .where("scope", "=", scope)
      .executeTakeFirst();
    const attempts = await db
      .selectFrom("code_attempts")
      .select("attempts")
      .where("address", "=", address)
      .where("scope", "=", scope)
      .executeTakeFirst();
    return { judged: failures?.failures ?? 0, charged: attempts?.attempts ?? 0 };
  }

  it(`at verification: ${perClient} judged, the rest refused unjudged, every answer alike`, async () => {
    const email = uniqueEmail();
    expect((await client()("/auth/signup", json("POST", { email, password: PASSWORD }))).status).toBe(201);
    const right = await latestCode(email);
    const wrong = right === "000000" ? "111111" : "000000";
    const tally = await fireAtOnce(() => client()("/auth/verify", json("POST", { email, code: wrong, password: PASSWORD })));
    expect(tally).toEqual({ "400 code_invalid": AT_ONCE });
    expect(await judgedAndCharged(email, "verify")).toEqual({ judged: perClient, charged: AT_ONCE });
  });

  it(`at a password reset: ${perClient} judged, the rest refused unjudged, every answer alike`, async () => {
    const user = await seededUser();
    await client()("/auth/password/forgot", json("POST", { email: user.email }));
    const right = await latestCode(user.email);
    const wrong = right === "000000" ? "111111" : "000000";
    const tally = await fireAtOnce(() =>
      client()("/auth/password/reset", json("POST", { email: user.email, code: wrong, new_password: "a fresh passphrase here" })),
    );
    expect(tally).toEqual({ "400 code_invalid": AT_ONCE });
    expect(await judgedAndCharged(user.email, "reset_password")).toEqual({ judged: perClient, charged: AT_ONCE });
  });
});

describe("the passkey's guard: 20 wrong assertions at once against one challenge", () => {
  // a signature cannot be guessed: the limit that matters is that one challenge is judged once, replayed or raced
  const expected = { "401 passkey_invalid": 1, "400 passkey_challenge_invalid": AT_ONCE - 1 };

  async function withPasskey() {
    const call = client();
    const user = await seededUser();
    const { device } = await seededPasskey(user);
    return { call, user, device };
  }

  async function judged(userId: number): Promise<number> {
    const rows = await db
      .selectFrom("auth_events")
      .select("id")
      .where("user_id", "=", String(userId))
      .where("type", "=", "passkey_failed")
      .execute();
    return rows.length;
  }

  it("at a sign-in: one judged, the rest find the challenge spent", async () => {
    const { call, user, device } = await withPasskey();
    const credential = await device.get(await signInOptions(call), { brokenSignature: true });
    const tally = await fireAtOnce(() => call("/auth/passkeys/authentication", json("POST", { credential })));
    expect(tally).toEqual(expected);
    expect(await judged(user.id)).toBe(1);
  });

  it("at a step-up: one judged, the rest find the challenge spent", async () => {
    const { call, user, device } = await withPasskey();
    const { access_token } = await login(user, call);
    const credential = await device.get(await reauthenticationOptions(call, access_token), { brokenSignature: true });
    const tally = await fireAtOnce(() => call("/auth/passkeys/reauthentication", bearer(access_token, json("POST", { credential }))));
    expect(tally).toEqual(expected);
    expect(await judged(user.id)).toBe(1);
  });
});
