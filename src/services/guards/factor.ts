// The second factor's guard: every endpoint that takes a code of the authenticator app or a recovery code (a
// login's challenge, re-authentication, the enrolment's first code, turning the factor off) checks it here, under
// the account's run of wrong codes (POLICY.codeRun). The try is counted in the statement that reads the factor,
// before the code is judged, so tries at once meet the same pause as tries in a row; a try refused while the
// factor is paused is not judged and learns nothing. A right code is spent only by the statement that acts on
// it, which checks first that it can succeed.
import { recoveryCodeHash } from "../../auth/recovery-codes.ts";
import { unseal } from "../../auth/seal.ts";
import { base32Decode, matchTotp } from "../../auth/totp.ts";
import { type ChallengeTry, chargeChallengeTry, type FactorProof } from "../../db/mfa-challenges.ts";
import { chargeOwnFactorTry, type Factor, type FactorTry, recordFactorFailure } from "../../db/mfa.ts";
import type { PasswordRun } from "../../db/password-run.ts";
import { ApiError } from "../../errors.ts";
import { factorPausedNotice } from "../../mail/templates.ts";
import { POLICY } from "../../policy.ts";
import type { ServiceContext } from "../context.ts";
import { deliverLater, mailToQueue } from "../mail-delivery.ts";

/** What a code is presented for, in the `mfa_failed` event of a wrong one. */
export type FactorUse = "login" | "enrolment" | "disable" | "step_up";

/** A login's challenge, by its token's hash. */
export interface ChallengeTarget {
  challengeHash: Uint8Array;
}

/** A user's own factor: pending (an enrolment's first code) or confirmed, tried right after their password or not. */
export interface OwnFactorTarget {
  userId: string;
  confirmed: boolean;
  /** The run of wrong passwords that a right password just before this try was counted in: it ends here. */
  afterPassword: PasswordRun | undefined;
}

export type FactorAnswer = { code: string } | { recovery_code: string };

const codeInvalid = () =>
  new ApiError("mfa_code_invalid", "The code is wrong, or was used already. Enter the code your authenticator app shows now.");
export const challengeGone = () => new ApiError("invalid_token", "The challenge is unknown, expired or used: log in again.");
const pausedError = () =>
  new ApiError("too_many_requests", `Too many wrong codes: codes are paused for up to ${POLICY.codeRun.pauseHours} hours.`, {
    retryAfterSeconds: POLICY.codeRun.pauseHours * 3600,
  });

function noFactor(target: OwnFactorTarget | ChallengeTarget): ApiError {
  if ("challengeHash" in target) return challengeGone();
  return target.confirmed
    ? new ApiError("mfa_not_enabled", "No second factor is on.")
    : new ApiError("mfa_not_enabled", "No enrolment is pending: start one with POST /auth/mfa/totp.");
}

/** The time step a code of the factor's app matches now (accepted once: not at or before the last one). */
async function matchedStep(ctx: ServiceContext, factor: Factor, code: string): Promise<number | undefined> {
  const secret = base32Decode(await unseal(ctx.config.HASH_SECRET, factor.secretSealed, "totp"));
  if (!secret) return undefined;
  return matchTotp(secret, code, ctx.now, {
    window: POLICY.totp.window,
    ...(factor.lastStep === undefined ? {} : { afterStep: factor.lastStep }),
  });
}

/**
 * What the answer proves: a code of the app at its time step, or a recovery code's hash (judged by the statement
 * that spends it, which finds it or not); undefined when it is wrong.
 */
async function judge(ctx: ServiceContext, factor: Factor, answer: FactorAnswer): Promise<FactorProof | undefined> {
  if ("code" in answer) {
    const step = await matchedStep(ctx, factor, answer.code);
    return step === undefined ? undefined : { step };
  }
  const recoveryHash = await recoveryCodeHash(ctx.config.HASH_SECRET, factor.userId, answer.recovery_code);
  return recoveryHash && { recoveryHash };
}

/**
 * A wrong code, counted already when its factor was read: recorded after the answer, and the owner told when its
 * count began a pause. Throws the answer.
 */
export function refuseWrongCode(ctx: ServiceContext, attempt: FactorTry, during: FactorUse): never {
  const pausesNow = attempt.run === POLICY.codeRun.pauseAfter;
  ctx.defer(
    (async () => {
      const notice = await recordFactorFailure(ctx.db, {
        userId: attempt.factor.userId,
        pauseNotice: pausesNow ? await mailToQueue(ctx, factorPausedNotice(POLICY.codeRun.pauseHours)) : undefined,
        details: { during },
        events: ctx.events,
      });
      deliverLater(ctx, notice);
    })(),
  );
  throw codeInvalid();
}

/**
 * Checks a code of the app (or, for a login's challenge, a recovery code), counting the try first (one round
 * trip). Throws the answer for every failure; answers what the code proves, for the statement that acts on it.
 */
export async function proveFactor(
  ctx: ServiceContext,
  target: ChallengeTarget,
  answer: FactorAnswer,
  during: FactorUse,
): Promise<{ attempt: ChallengeTry; proof: FactorProof }>;
export async function proveFactor(
  ctx: ServiceContext,
  target: OwnFactorTarget,
  answer: { code: string },
  during: FactorUse,
): Promise<{ attempt: FactorTry; proof: { step: number } }>;
export async function proveFactor(
  ctx: ServiceContext,
  target: ChallengeTarget | OwnFactorTarget,
  answer: FactorAnswer,
  during: FactorUse,
): Promise<{ attempt: FactorTry; proof: FactorProof }> {
  const { db, now } = ctx;
  const run = POLICY.codeRun;
  const attempt =
    "challengeHash" in target
      ? await chargeChallengeTry(db, { tokenHash: target.challengeHash, run, now })
      : await chargeOwnFactorTry(db, { ...target, run, now });
  if (!attempt) throw noFactor(target);
  if (attempt.run === undefined) throw pausedError();
  const proof = await judge(ctx, attempt.factor, answer);
  if (!proof) return refuseWrongCode(ctx, attempt, during);
  return { attempt, proof };
}
