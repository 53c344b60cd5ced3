import { randomToken, sha256 } from "../auth/crypto.ts";
import { qrSvg } from "../auth/qr.ts";
import { newRecoveryCodes } from "../auth/recovery-codes.ts";
import { seal } from "../auth/seal.ts";
import type { AccessClaims } from "../auth/tokens.ts";
import { base32Encode, newTotpSecret, totpUri } from "../auth/totp.ts";
import { acceptedCode, completeChallenge, createChallenge, renewAuthentication } from "../db/mfa-challenges.ts";
import { confirmFactor, disableFactor, resetFactor, startEnrolment } from "../db/mfa.ts";
import { endingSessions } from "../edge/revocations.ts";
import { ApiError, failure } from "../errors.ts";
import { mfaChangedNotice, recoveryCodeUsedNotice } from "../mail/templates.ts";
import type {
  AccessToken,
  ConfirmTotpRequest,
  DisableTotpRequest,
  MfaLoginRequest,
  ReauthenticateRequest,
  StartTotpRequest,
  TotpEnabled,
  TotpEnrolment,
} from "../schemas/mfa.ts";
import type { SignedIn, TokenPair } from "../schemas/tokens.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { challengeGone, proveFactor, refuseWrongCode } from "./guards/factor.ts";
import { signingInDevice } from "./devices.ts";
import { foundDevice } from "../db/devices.ts";
import type { CheckedProof, ReportLink, SessionProof } from "../db/sessions.ts";
import { type ProvedPassword, provePassword, signedIn } from "./guards/password.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { requireRecentAuthentication } from "./step-up.ts";
import { mintAccessToken, mintSignIn, mintTokens, newSession } from "./tokens.ts";

/**
 * Starts enrolling a TOTP factor (RFC 6238: SHA-1, 6 digits, 30 s, a 160-bit secret), sealed at rest until
 * the first code confirms it; again from scratch while it is pending. It needs the current password (through its
 * guard) as well as a recent sign-in: a stolen access token alone must not put another person's app on the
 * account. Two round trips.
 */
export async function startTotpEnrolment(ctx: ServiceContext, actor: AccessClaims, input: StartTotpRequest): Promise<TotpEnrolment> {
  requireRecentAuthentication(ctx, actor);
  const proved = await provePassword(ctx, signedIn(actor), input.current_password, "mfa_change");
  const secret = newTotpSecret();
  const secretText = base32Encode(secret);
  const enrolment = await startEnrolment(ctx.db, {
    userId: actor.userId,
    secretSealed: await seal(ctx.config.HASH_SECRET, secretText, "totp"),
    passwordRun: proved.holder.run,
    now: ctx.now,
  });
  if (!enrolment.started) {
    if (enrolment.reason === "user_gone") throw failure("user_gone");
    proved.settle();
    throw new ApiError("mfa_already_enabled", "A second factor is on already: turn it off first to enrol another.");
  }
  const uri = totpUri(secret, { issuer: ctx.config.PRODUCT_NAME, account: enrolment.email });
  return { secret: secretText, otpauth_uri: uri, qr_svg: qrSvg(uri) };
}

/**
 * Turns the factor on with its first code: ten recovery codes are answered (shown this once, stored only as
 * HMACs), every session of the account ends, and the caller's goes on as a fresh one with the factor in its
 * `amr` (its `auth_time` unchanged). The owner is told. Two round trips.
 */
export async function confirmTotp(ctx: ServiceContext, actor: AccessClaims, input: ConfirmTotpRequest): Promise<TotpEnabled> {
  requireRecentAuthentication(ctx, actor);
  const { attempt, proof } = await proveFactor(
    ctx,
    { userId: actor.userId, confirmed: false, afterPassword: undefined },
    input,
    "enrolment",
  );
  const [recovery, session, notice] = await Promise.all([
    newRecoveryCodes(ctx.config.HASH_SECRET, actor.userId),
    newSession(ctx, { continues: actor.sessionId, factor: "added" }),
    mailToQueue(ctx, mfaChangedNotice("enabled")),
  ]);
  const result = await endingSessions(ctx, (ender) =>
    confirmFactor(ctx.db, ender, {
      userId: actor.userId,
      secretSealed: attempt.factor.secretSealed,
      step: proof.step,
      recoveryHashes: recovery.hashes,
      fresh: session.fresh,
      notice,
      events: ctx.events,
    }),
  );
  if (!result.standing) throw new ApiError("mfa_not_enabled", "The enrolment or your session changed meanwhile: start it again.");
  deliverLater(ctx, result.notice);
  return { ...(await mintTokens(ctx, result.standing, session.refreshToken)), recovery_codes: recovery.codes };
}

/**
 * Turns the user's own factor off, with their current password and a current code (each through its guard).
 * Every session of the account ends (none may go on claiming the factor), the caller's goes on as a fresh one
 * without it; the owner is told. Three round trips.
 */
export async function disableTotp(ctx: ServiceContext, actor: AccessClaims, input: DisableTotpRequest): Promise<TokenPair> {
  requireRecentAuthentication(ctx, actor);
  const { holder } = await provePassword(ctx, signedIn(actor), input.current_password, "mfa_change");
  await proveFactor(ctx, { userId: actor.userId, confirmed: true, afterPassword: holder.run }, { code: input.code }, "disable");
  const [session, notice] = await Promise.all([
    newSession(ctx, { continues: actor.sessionId, factor: "removed" }),
    mailToQueue(ctx, mfaChangedNotice("disabled")),
  ]);
  const result = await endingSessions(ctx, (ender) =>
    disableFactor(ctx.db, ender, { userId: actor.userId, fresh: session.fresh, notice, events: ctx.events }),
  );
  if (!result.standing) throw failure("session_ended");
  deliverLater(ctx, result.notice);
  return mintTokens(ctx, result.standing, session.refreshToken);
}

/**
 * An admin's reset of another user's second factor (a lost device): every session of the user ends; the user is
 * told. Not one's own: that would take away one's factor with nothing but a token (another admin does it, or one
 * turns it off with the password and a current code).
 */
export async function resetUserFactor(ctx: ServiceContext, actor: AccessClaims, userId: string): Promise<void> {
  if (actor.userId === userId) {
    throw new ApiError(
      "cannot_reset_own_factor",
      "You cannot reset your own second factor: turn it off with POST /auth/mfa/totp/disable, or ask another admin.",
    );
  }
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
export async function challengeLogin(ctx: ServiceContext, holder: ProvedPassword["holder"]): Promise<never> {
  const token = randomToken();
  const expiresIn = ctx.config.MFA_CHALLENGE_TTL_SECONDS;
  await createChallenge(ctx.db, {
    tokenHash: await sha256(token),
    userId: holder.id,
    run: holder.run,
    checked: { passwordHash: holder.password_hash },
    generation: holder.generation,
    expiresAt: secondsAfter(ctx.now, expiresIn),
    events: ctx.events,
  });
  throw secondFactorRequired("The password is right", token, expiresIn);
}

/** The answer that asks for the account's second factor, with the challenge that completes the login at POST /auth/login/mfa. */
export function secondFactorRequired(firstStep: string, token: string, expiresIn: number): ApiError {
  return new ApiError("mfa_required", `${firstStep}: now send a code of your authenticator app, or a recovery code.`, {
    members: { challenge: { token, expires_in: expiresIn, methods: ["totp", "recovery_code"] } },
  });
}

/** How a session completed by the second factor was proved: the first step's password, or its provider, then the app. */
function afterSecondFactor(checked: CheckedProof, report: ReportLink): SessionProof {
  return "passwordHash" in checked
    ? { proved: ["pwd", "otp"], report }
    : { proved: ["fed", "otp"], report, identityId: checked.identityId };
}

/**
 * Completes a login with its second factor (two round trips): the factor guard's read of the challenge (a dead
 * one is refused before any code is judged), the code judged, then the challenge spent and the session started in
 * one statement; a recovery code is spent there (or found wrong) and its owner told.
 */
export async function completeMfaLogin(ctx: ServiceContext, input: MfaLoginRequest): Promise<SignedIn> {
  const tokenHash = await sha256(input.challenge_token);
  const { attempt, proof } = await proveFactor(ctx, { challengeHash: tokenHash }, input, "login");
  const userId = attempt.factor.userId;
  const device = await signingInDevice(ctx, userId, foundDevice(attempt.deviceId));
  const [session, recoveryNotice] = await Promise.all([
    newSession(ctx, afterSecondFactor(attempt.checked, device.report)),
    "recoveryHash" in proof ? mailToQueue(ctx, recoveryCodeUsedNotice()) : undefined,
  ]);
  const completed = await completeChallenge(ctx.db, {
    tokenHash,
    userId,
    challenge: attempt,
    proof,
    fresh: session.fresh,
    device: device.signIn,
    deviceNotice: device.notice,
    recoveryNotice,
    events: ctx.events,
  });
  // a recovery code unknown or used, or the app's code used meanwhile: the challenge stays live
  if (completed.outcome !== "started") {
    if (completed.outcome === "wrong_answer") return refuseWrongCode(ctx, attempt, "login");
    throw challengeGone();
  }
  for (const notice of completed.notices) deliverLater(ctx, notice);
  return mintSignIn(ctx, completed.standing, session.refreshToken, device.token);
}

/**
 * Step-up: proves the person behind the session again, without ending it (the password, and a code of the app
 * when a second factor is on, each through its guard), and answers an access token with a fresh `auth_time`.
 * Two round trips for an account without a factor, three with one.
 */
export async function reauthenticateSession(ctx: ServiceContext, actor: AccessClaims, input: ReauthenticateRequest): Promise<AccessToken> {
  const password = await provePassword(ctx, signedIn(actor), input.password, "step_up");
  let step: number | undefined;
  if (password.holder.secondFactor) {
    if (input.code === undefined) {
      password.settle();
      throw new ApiError("mfa_required", "A second factor is on: send a code of your authenticator app too.");
    }
    const target = { userId: actor.userId, confirmed: true, afterPassword: password.holder.run };
    ({ step } = (await proveFactor(ctx, target, { code: input.code }, "step_up")).proof);
  }
  const standing = await renewAuthentication(ctx.db, {
    userId: actor.userId,
    sessionId: actor.sessionId,
    proved: step === undefined ? ["pwd"] : ["pwd", "otp"],
    spends: step === undefined ? undefined : acceptedCode(actor.userId, step),
    endsPasswordRun: step === undefined ? password.holder.run : undefined,
    events: ctx.events,
  });
  if (!standing) throw failure("session_ended");
  return mintAccessToken(ctx, standing);
}
