import { codeHash } from "../auth/codes.ts";
import { hashPassword, verifyPassword } from "../auth/passwords.ts";
import { newRefreshToken } from "../auth/tokens.ts";
import type { AccessClaims } from "../auth/tokens.ts";
import { issueResetCode, resetPassword as applyReset } from "../db/codes.ts";
import { recordEvent } from "../db/events.ts";
import { changePassword as applyChange } from "../db/sessions.ts";
import { findPasswordHolder } from "../db/users.ts";
import { ApiError } from "../errors.ts";
import { passwordChangedNotice, passwordResetMail } from "../mail/templates.ts";
import { endingSessions } from "../revocation.ts";
import type { TokenPair } from "../schemas/tokens.ts";
import { codeGuess, codeToIssue, issuingInterval } from "./codes.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { tokenPair } from "./sessions.ts";

/**
 * Mails a reset code to the account with this address, if there is one (verified or not; not a disabled
 * one), at most once a minute. The caller answers the same in every case, and the work is the same:
 * the code is made and the statement runs whether or not the address has an account.
 */
export async function forgotPassword(ctx: ServiceContext, input: { email: string }): Promise<void> {
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
export async function resetPassword(ctx: ServiceContext, input: { email: string; code: string; new_password: string }): Promise<void> {
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
    throw new ApiError("code_invalid", "The code is wrong, has expired or was used up. Use the newest code we sent, or ask for a new one.");
  }
  deliverLater(ctx, result.notice);
}

/**
 * Changes the password of the signed-in user, who proves the current one first (a wrong one counts
 * against the address like a failed login). Two round trips: read the hash, then write. Every other
 * session ends; this one goes on with a fresh token pair.
 */
export async function changePassword(
  ctx: ServiceContext,
  actor: AccessClaims,
  input: { current_password: string; new_password: string },
): Promise<TokenPair> {
  const holder = await findPasswordHolder(ctx.db, { id: actor.userId });
  if (!holder) throw new ApiError("invalid_token", "The user of this token no longer exists.");
  await ctx.limitPasswordGuesses(holder.email);
  const { valid } = await verifyPassword(input.current_password, holder.password_hash);
  if (!valid) {
    ctx.defer(
      recordEvent(ctx.db, ctx.events, {
        type: "login_failed",
        userId: holder.id,
        details: { reason: "wrong_password", during: "password_change" },
      }),
    );
    throw new ApiError("invalid_credentials", "The current password is wrong.");
  }
  const [newHash, fresh, notice] = await Promise.all([
    hashPassword(input.new_password),
    newRefreshToken(),
    mailToQueue(ctx, passwordChangedNotice("changed")),
  ]);
  const result = await endingSessions(ctx, (ender) =>
    applyChange(ctx.db, ender, {
      userId: holder.id,
      sessionId: actor.sessionId,
      verifiedHash: holder.password_hash,
      newHash,
      freshToken: { hash: fresh.hash, expiresAt: secondsAfter(ctx.now, ctx.config.REFRESH_TOKEN_TTL_SECONDS) },
      notice,
      events: ctx.events,
    }),
  );
  // the session ended, or the password changed elsewhere, while this one was being checked
  if (!result.changed || !result.role) throw new ApiError("invalid_token", "The session of this token has ended.");
  deliverLater(ctx, result.notice);
  return tokenPair(ctx, { userId: holder.id, role: result.role, sessionId: actor.sessionId }, fresh.token);
}
