import { randomToken, sha256 } from "../auth/crypto.ts";
import { qrSvg } from "../auth/qr.ts";
import { newRecoveryCodes, recoveryCodeHash } from "../auth/recovery-codes.ts";
import { seal, unseal } from "../auth/seal.ts";
import type { AccessClaims } from "../auth/tokens.ts";
import { newRefreshToken } from "../auth/tokens.ts";
import { base32Decode, base32Encode, matchTotp, newTotpSecret, totpUri } from "../auth/totp.ts";
import { completeChallenge, createChallenge, type FactorProof, findChallenge, renewAuthentication } from "../db/mfa-challenges.ts";
import { confirmFactor, disableFactor, type Factor, findFactor, recordFactorFailure, resetFactor, startEnrolment } from "../db/mfa.ts";
import type { PasswordHolder } from "../db/passwords.ts";
import { endingSessions } from "../edge/revocations.ts";
import { ApiError, failure } from "../errors.ts";
import { factorPausedNotice, mfaChangedNotice, recoveryCodeUsedNotice } from "../mail/templates.ts";
import type {
  AccessToken,
  ConfirmTotpRequest,
  DisableTotpRequest,
  MfaLoginRequest,
  ReauthenticateRequest,
  TotpEnabled,
  TotpEnrolment,
} from "../schemas/mfa.ts";
import type { TokenPair } from "../schemas/tokens.ts";
import { CODE_FAILURES_BEFORE_PAUSE, CODE_PAUSE_HOURS } from "./codes.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { reauthenticate } from "./reauthentication.ts";
import { accessToken, freshSession, tokenPair } from "./tokens.ts";
import { requireRecentAuthentication } from "./step-up.ts";

/** A TOTP code is accepted one time step either side of now (clocks of phones drift), never two. */
const TOTP_WINDOW = 1;

const codeInvalid = () =>
  new ApiError("mfa_code_invalid", "The code is wrong, or was used already. Enter the code your authenticator app shows now.");
const challengeGone = () => new ApiError("invalid_token", "The challenge is unknown, expired or used: log in again.");
const pausedError = () =>
  new ApiError("too_many_requests", `Too many wrong codes: codes are paused for up to ${CODE_PAUSE_HOURS} hours.`, {
    retryAfterSeconds: CODE_PAUSE_HOURS * 3600,
  });

/** The time step a code of the factor's app matches now (accepted once: not at or before the last one). */
async function matchedStep(ctx: ServiceContext, factor: Factor, code: string): Promise<number | undefined> {
  const secret = base32Decode(await unseal(ctx.config.HASH_SECRET, factor.secretSealed, "totp"));
  if (!secret) return undefined;
  return matchTotp(secret, code, ctx.now, {
    window: TOTP_WINDOW,
    ...(factor.lastStep === undefined ? {} : { afterStep: factor.lastStep }),
  });
}

/** A wrong code counts against the user's run of wrong codes, as emailed codes do. */
async function countWrongCode(ctx: ServiceContext, userId: string, during: string): Promise<never> {
  const notice = await recordFactorFailure(ctx.db, {
    userId,
    pauseAfter: CODE_FAILURES_BEFORE_PAUSE,
    pausedUntil: secondsAfter(ctx.now, CODE_PAUSE_HOURS * 3600),
    pauseNotice: await mailToQueue(ctx, factorPausedNotice(CODE_PAUSE_HOURS)),
    details: { during },
    events: ctx.events,
  });
  deliverLater(ctx, notice);
  throw codeInvalid();
}

/**
 * Starts enrolling a TOTP factor (RFC 6238: SHA-1, 6 digits, 30 s, a 160-bit secret), sealed at rest until
 * the first code confirms it; again from scratch while it is pending. One round trip.
 */
export async function startTotpEnrolment(ctx: ServiceContext, actor: AccessClaims): Promise<TotpEnrolment> {
  requireRecentAuthentication(ctx, actor);
  const secret = newTotpSecret();
  const secretText = base32Encode(secret);
  const enrolment = await startEnrolment(ctx.db, {
    userId: actor.userId,
    secretSealed: await seal(ctx.config.HASH_SECRET, secretText, "totp"),
    now: ctx.now,
  });
  if (!enrolment.started) {
    if (enrolment.reason === "user_gone") throw failure("user_gone");
    throw new ApiError("mfa_already_enabled", "A second factor is on already: turn it off first to enrol another.");
  }
  const uri = totpUri(secret, { issuer: ctx.config.PRODUCT_NAME, account: enrolment.email });
  return { secret: secretText, otpauth_uri: uri, qr_svg: qrSvg(uri) };
}

/**
 * Turns the factor on with its first code: ten recovery codes are answered (shown this once, stored only as
 * HMACs), every other session of the account ends, and the caller goes on in a fresh session made with both
 * factors. The owner is told. Two round trips.
 */
export async function confirmTotp(ctx: ServiceContext, actor: AccessClaims, input: ConfirmTotpRequest): Promise<TotpEnabled> {
  requireRecentAuthentication(ctx, actor);
  const factor = await findFactor(ctx.db, actor.userId, ctx.now);
  if (!factor || factor.confirmed) throw new ApiError("mfa_not_enabled", "No enrolment is pending: start one with POST /auth/mfa/totp.");
  if (factor.paused) throw pausedError();
  const step = await matchedStep(ctx, factor, input.code);
  if (step === undefined) return countWrongCode(ctx, actor.userId, "enrolment");
  const [recovery, refresh, notice] = await Promise.all([
    newRecoveryCodes(ctx.config.HASH_SECRET, actor.userId),
    newRefreshToken(),
    mailToQueue(ctx, mfaChangedNotice("enabled")),
  ]);
  const fresh = freshSession(ctx, refresh.hash);
  const result = await endingSessions(ctx, (ender) =>
    confirmFactor(ctx.db, ender, {
      userId: actor.userId,
      secretSealed: factor.secretSealed,
      step,
      recoveryHashes: recovery.hashes,
      fresh: { ...fresh, amr: ["pwd", "otp"] },
      notice,
      events: ctx.events,
    }),
  );
  if (!result.confirmed) throw new ApiError("mfa_not_enabled", "The enrolment changed meanwhile: start it again.");
  deliverLater(ctx, result.notice);
  const pair = await tokenPair(
    ctx,
    {
      userId: actor.userId,
      role: result.confirmed.role,
      sessionId: fresh.id,
      generation: result.confirmed.generation,
      amr: ["pwd", "otp"],
      authTime: ctx.now,
    },
    refresh.token,
  );
  return { ...pair, recovery_codes: recovery.codes };
}

/** Turns the user's own factor off, with their current password and a current code. The owner is told. */
export async function disableTotp(ctx: ServiceContext, actor: AccessClaims, input: DisableTotpRequest): Promise<void> {
  requireRecentAuthentication(ctx, actor);
  // the two reads at once: one round trip's wait, not two
  const [, factor] = await Promise.all([
    reauthenticate(ctx, actor.userId, input.current_password, "mfa_change"),
    findFactor(ctx.db, actor.userId, ctx.now),
  ]);
  if (!factor?.confirmed) throw new ApiError("mfa_not_enabled", "No second factor is on.");
  if (factor.paused) throw pausedError();
  if ((await matchedStep(ctx, factor, input.code)) === undefined) return countWrongCode(ctx, actor.userId, "disable");
  const { disabled, notice } = await disableFactor(ctx.db, {
    userId: actor.userId,
    notice: await mailToQueue(ctx, mfaChangedNotice("disabled")),
    events: ctx.events,
  });
  if (!disabled) throw new ApiError("forbidden", "Your account no longer allows this.");
  deliverLater(ctx, notice);
}

/** An admin's reset of a user's second factor (a lost device): every session of the user ends; the user is told. */
export async function resetUserFactor(ctx: ServiceContext, actor: AccessClaims, userId: string): Promise<void> {
  requireRecentAuthentication(ctx, actor);
  const notice = await mailToQueue(ctx, mfaChangedNotice("reset"));
  const { outcome, notice: queued } = await endingSessions(ctx, (ender) =>
    resetFactor(ctx.db, ender, { userId, actor: { id: actor.userId, needs: "admin" }, notice, events: ctx.events }),
  );
  if (outcome === "forbidden") throw new ApiError("forbidden", "Your account no longer allows this.");
  if (outcome === "not_enabled") throw new ApiError("mfa_not_enabled", "This user has no second factor (or no user has this id).");
  deliverLater(ctx, queued);
}

/**
 * For an account with a second factor, the right password answers a challenge instead of a session: a
 * single-use token, kept only hashed, bound to the password hash checked and to the account's generation,
 * alive MFA_CHALLENGE_TTL_SECONDS. The login's second round trip.
 */
export async function challengeLogin(ctx: ServiceContext, holder: PasswordHolder): Promise<never> {
  const token = randomToken();
  const expiresIn = ctx.config.MFA_CHALLENGE_TTL_SECONDS;
  await createChallenge(ctx.db, {
    tokenHash: await sha256(token),
    userId: holder.id,
    passwordHash: holder.password_hash,
    generation: holder.generation,
    expiresAt: secondsAfter(ctx.now, expiresIn),
    events: ctx.events,
  });
  throw new ApiError("mfa_required", "The password is right: now send a code of your authenticator app, or a recovery code.", {
    members: { challenge: { token, expires_in: expiresIn, methods: ["totp", "recovery_code"] } },
  });
}

/**
 * Completes a login with its second factor (two round trips): the challenge read with the factor, the code
 * checked (accepted once; ±1 time step), then the challenge spent and the session started in one statement;
 * a recovery code is spent and its owner told. A wrong code counts against the user's run of wrong codes.
 */
export async function completeMfaLogin(ctx: ServiceContext, input: MfaLoginRequest): Promise<TokenPair> {
  const tokenHash = await sha256(input.challenge_token);
  const challenge = await findChallenge(ctx.db, tokenHash, ctx.now);
  if (!challenge) throw challengeGone();
  const { factor } = challenge;
  if (factor.paused) throw pausedError();
  const proof = await factorProof(ctx, factor, input);
  if (!proof) return countWrongCode(ctx, factor.userId, "login");
  const refresh = await newRefreshToken();
  const fresh = freshSession(ctx, refresh.hash);
  const recoveryNotice = "recoveryHash" in proof ? await mailToQueue(ctx, recoveryCodeUsedNotice()) : undefined;
  const completed = await completeChallenge(ctx.db, {
    tokenHash,
    userId: factor.userId,
    challenge,
    proof,
    fresh,
    recoveryNotice,
    events: ctx.events,
  });
  if (completed.outcome !== "started") {
    // a recovery code unknown or used, or the app's code used meanwhile: the challenge stays live
    if (completed.outcome === "wrong_answer") return countWrongCode(ctx, factor.userId, "login");
    throw challengeGone();
  }
  deliverLater(ctx, completed.notice);
  const { role, generation } = completed;
  return tokenPair(
    ctx,
    { userId: factor.userId, role, sessionId: fresh.id, generation, amr: ["pwd", "otp"], authTime: ctx.now },
    refresh.token,
  );
}

/** What the challenge's answer proves: a code of the app at its time step, or a recovery code's hash; undefined if wrong. */
async function factorProof(ctx: ServiceContext, factor: Factor, input: MfaLoginRequest): Promise<FactorProof | undefined> {
  if ("code" in input) {
    const step = await matchedStep(ctx, factor, input.code);
    return step === undefined ? undefined : { step };
  }
  const recoveryHash = await recoveryCodeHash(ctx.config.HASH_SECRET, factor.userId, input.recovery_code);
  return recoveryHash && { recoveryHash };
}

/**
 * Step-up: proves the person behind the session again, without ending it (the password, and a code of the app
 * when a second factor is on), and answers an access token with a fresh `auth_time`. Two round trips' wait: the
 * password's and the factor's reads at once, then the renewal.
 */
export async function reauthenticateSession(ctx: ServiceContext, actor: AccessClaims, input: ReauthenticateRequest): Promise<AccessToken> {
  const [, factor] = await Promise.all([
    reauthenticate(ctx, actor.userId, input.password, "step_up"),
    findFactor(ctx.db, actor.userId, ctx.now),
  ]);
  let step: number | undefined;
  if (factor?.confirmed) {
    if (input.code === undefined) throw new ApiError("mfa_required", "A second factor is on: send a code of your authenticator app too.");
    if (factor.paused) throw pausedError();
    step = await matchedStep(ctx, factor, input.code);
    if (step === undefined) return countWrongCode(ctx, actor.userId, "step_up");
  }
  const renewed = await renewAuthentication(ctx.db, { userId: actor.userId, sessionId: actor.sessionId, step, events: ctx.events });
  if (!renewed) throw failure("session_ended");
  const amr = step === undefined ? (["pwd"] as const) : (["pwd", "otp"] as const);
  return accessToken(ctx, {
    userId: actor.userId,
    role: renewed.role,
    sessionId: actor.sessionId,
    generation: renewed.generation,
    amr: [...amr],
    authTime: ctx.now,
  });
}
