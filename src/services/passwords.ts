import { codeHash } from "../auth/codes.ts";
import { hashPassword } from "../auth/passwords.ts";
import { newRefreshToken } from "../auth/tokens.ts";
import type { AccessClaims } from "../auth/tokens.ts";
import { issueResetCode } from "../db/codes.ts";
import { changePassword as applyChange, resetPassword as applyReset } from "../db/passwords.ts";
import { failure } from "../errors.ts";
import { passwordChangedNotice, passwordResetMail } from "../mail/templates.ts";
import { endingSessions } from "../edge/revocations.ts";
import type { ChangePasswordRequest, ForgotPasswordRequest, ResetPasswordRequest } from "../schemas/passwords.ts";
import type { TokenPair } from "../schemas/tokens.ts";
import { codeGuess, codeToIssue, issuingInterval } from "./codes.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { reauthenticate } from "./reauthentication.ts";
import { tokenPair } from "./sessions.ts";

/**
 * Mails a reset code to the account with this address, if there is one (verified or not; not a disabled
 * one), at most once a minute. The caller answers the same in every case, and the work is the same:
 * the code is made and the statement runs whether or not the address has an account.
 */
export async function forgotPassword(ctx: ServiceContext, input: ForgotPasswordRequest): Promise<void> {
  const mail = await issueResetCode(ctx.db, {
    email: input.email,
    code: await codeToIssue(ctx, input.email, passwordResetMail),
    notIssuedSince: issuingInterval(ctx),
    events: ctx.events,
  });
  deliverLater(ctx, mail);
}

/**
 * Sets a new password with the code mailed to the address, consumes the code, and ends every session of
 * the account, in one transaction. The code proves control of the address, so an unverified account
 * becomes verified. Every failure answers alike, as for verification.
 */
export async function resetPassword(ctx: ServiceContext, input: ResetPasswordRequest): Promise<void> {
  const [hash, passwordHash, notice] = await Promise.all([
    codeHash(ctx.config.HASH_SECRET, input.email, input.code),
    hashPassword(input.new_password),
    mailToQueue(ctx, passwordChangedNotice("reset")),
  ]);
  const result = await endingSessions(ctx, (ender) =>
    applyReset(ctx.db, ender, {
      guess: codeGuess(ctx, { address: input.email, hash, scope: "reset_password", purposes: ["reset_password"] }),
      passwordHash,
      notice,
      events: ctx.events,
    }),
  );
  if (!result.reset) {
    throw failure("code_invalid");
  }
  deliverLater(ctx, result.notice);
}

/**
 * Changes the password of the signed-in user, who proves the current one first (a wrong one counts
 * against the address like a failed login). Two round trips: read the hash, then write. Every other
 * session ends; this one goes on with a fresh token pair.
 */
export async function changePassword(ctx: ServiceContext, actor: AccessClaims, input: ChangePasswordRequest): Promise<TokenPair> {
  const checked = await reauthenticate(ctx, actor.userId, input.current_password, "password_change");
  const [newHash, fresh, notice] = await Promise.all([
    hashPassword(input.new_password),
    newRefreshToken(),
    mailToQueue(ctx, passwordChangedNotice("changed")),
  ]);
  const result = await endingSessions(ctx, (ender) =>
    applyChange(ctx.db, ender, {
      userId: actor.userId,
      sessionId: actor.sessionId,
      verifiedHash: checked.passwordHash,
      newHash,
      freshToken: { hash: fresh.hash, expiresAt: secondsAfter(ctx.now, ctx.config.REFRESH_TOKEN_TTL_SECONDS) },
      notice,
      events: ctx.events,
    }),
  );
  // the session ended, or the password changed elsewhere, while this one was being checked
  if (!result.changed || !result.role) throw failure("session_ended");
  deliverLater(ctx, result.notice);
  return tokenPair(ctx, { userId: actor.userId, role: result.role, sessionId: actor.sessionId }, fresh.token);
}
