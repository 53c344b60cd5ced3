// The second factor as tests meet it: codes an authenticator app would show at a test's clock, a factor put on an
// account the way a finished enrolment leaves it (for tests whose subject is not enrolling), and a login's challenge.
import { expect, inject } from "vitest";
import { newRecoveryCodes } from "../../src/auth/recovery-codes.ts";
import { seal } from "../../src/auth/seal.ts";
import { base32Encode, newTotpSecret, TOTP_PERIOD_SECONDS, totpAt, totpStepAt } from "../../src/auth/totp.ts";
import { getDb } from "../../src/db/client.ts";
import type { MfaChallenge } from "../../src/schemas/mfa.ts";
import { type Call, expectProblem, json, type manualClock, type TestUser } from "./helpers.ts";

export type ManualClock = ReturnType<typeof manualClock>;

/** The code the app shows `steps` time steps from the clock's now. */
export async function codeAt(secret: Uint8Array, clock: ManualClock, steps = 0): Promise<string> {
  return totpAt(secret, totpStepAt(clock()) + steps);
}

/** A code that is not the app's now (nor one step either side). */
export async function wrongCodeAt(secret: Uint8Array, clock: ManualClock): Promise<string> {
  const near = await Promise.all([-1, 0, 1].map((steps) => codeAt(secret, clock, steps)));
  let candidate = 0;
  while (near.includes(String(candidate).padStart(6, "0"))) candidate++;
  return String(candidate).padStart(6, "0");
}

/** The next time step: a code of the app is accepted once, so each use in a test waits for a new one. */
export const nextStep = (clock: ManualClock) => clock.advance(TOTP_PERIOD_SECONDS);

/**
 * Turns a confirmed authenticator app and ten recovery codes on for `user`, as a finished enrolment leaves them,
 * straight in the database: for tests whose subject is not the enrolment (second-factor.test.ts enrols through the API).
 */
export async function seededFactor(
  user: TestUser,
  now: Date,
  databaseUrl = inject("databaseUrl"),
): Promise<{ secret: Uint8Array; recoveryCodes: string[] }> {
  const db = getDb(databaseUrl);
  const hashSecret = inject("hashSecret");
  const secret = newTotpSecret();
  const userId = String(user.id);
  const recovery = await newRecoveryCodes(hashSecret, userId);
  await db
    .insertInto("totp_factors")
    .values({ user_id: userId, secret_sealed: await seal(hashSecret, base32Encode(secret), "totp"), confirmed_at: now, created_at: now })
    .execute();
  await db
    .insertInto("recovery_codes")
    .values(recovery.hashes.map((code_hash) => ({ code_hash, user_id: userId, created_at: now })))
    .execute();
  return { secret, recoveryCodes: recovery.codes };
}

/** A login whose password is right, for an account with a factor: its challenge. */
export async function challenge(call: Call, user: TestUser): Promise<MfaChallenge> {
  const response = await call("/auth/login", json("POST", { email: user.email, password: user.password }));
  const problem = await expectProblem(response, 401, "mfa_required");
  const { challenge } = problem as typeof problem & { challenge: MfaChallenge };
  expect(challenge.token).toEqual(expect.any(String));
  return challenge;
}

export function completeWith(call: Call, token: string, answer: { code: string } | { recovery_code: string }): Promise<Response> {
  return call("/auth/login/mfa", json("POST", { challenge_token: token, ...answer }));
}

/** An access token's claims, as any holder can read them. */
export function claimsOf(accessToken: string): Record<string, unknown> {
  const part = accessToken.split(".")[1] ?? "";
  return JSON.parse(atob(part.replaceAll("-", "+").replaceAll("_", "/")));
}
