import { hashPassword } from "../auth/passwords.ts";
import type { AccessClaims } from "../auth/tokens.ts";
import { issueResetCode } from "../db/codes.ts";
import { changePassword as applyChange, resetPassword as applyReset } from "../db/passwords.ts";
import { endingSessions } from "../edge/revocations.ts";
import { failure } from "../errors.ts";
import { passwordChangedNotice, passwordResetMail } from "../mail/templates.ts";
import type { ChangePasswordRequest, ForgotPasswordRequest, ResetPasswordRequest } from "../schemas/passwords.ts";
import type { TokenPair } from "../schemas/tokens.ts";
import { codeToIssue, mailAllowance } from "./codes.ts";
import type { ServiceContext } from "./context.ts";
import { proveEmailedCode } from "./guards/emailed-code.ts";
import { provePassword, signedIn } from "./guards/password.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { refuseBreachedPassword } from "./breached-passwords.ts";
import { requireRecentAuthentication } from "./step-up.ts";
import { mintTokens, newSession } from "./tokens.ts";

/**
 * Mails a reset code to the account with this address, if there is one (verified or not; not a disabled
 * one) and the address may be sent one. The caller answers the same in every case, and the work is the
 * same: the code is made and the statement runs whether or not the address has an account.
 */
export async function forgotPassword(ctx: ServiceContext, input: ForgotPasswordRequest): Promise<void> {
  const mail = await issueResetCode(ctx.db, {
    email: input.email,
    code: await codeToIssue(ctx, input.email, passwordResetMail),
    allowance: mailAllowance(ctx),
    events: ctx.events,
  });
  deliverLater(ctx, mail);
}

/**
 * Sets a new password with the code mailed to the address, spends the code, and ends every session of the
 * account. The code is checked first (one round trip), so a wrong one costs no password work; a right one
 * is spent by the reset's own transaction (the second). The code proves control of the address, so an
 * unverified account becomes verified, and a pause of the address's codes lifts. Every failure answers
 * alike, as for verification.
 */
export async function resetPassword(ctx: ServiceContext, input: ResetPasswordRequest): Promise<void> {
  const matched = await proveEmailedCode(ctx, {
    address: input.email,
    code: input.code,
    scope: "reset_password",
    purposes: ["reset_password"],
  });
  if (!matched) throw failure("code_invalid");
  await refuseBreachedPassword(ctx, input.new_password);
  const [passwordHash, notice] = await Promise.all([hashPassword(input.new_password), mailToQueue(ctx, passwordChangedNotice("reset"))]);
  const result = await endingSessions(ctx, (ender) => applyReset(ctx.db, ender, { matched, passwordHash, notice, events: ctx.events }));
  if (!result.reset) throw failure("code_invalid");
  deliverLater(ctx, result.notice);
}

/**
 * Changes the password of the signed-in user, who proves the current one first (through the password guard: a
 * wrong one counts against the account like a failed login). Two round trips: read the hash, then write. Every
 * session of the account ends, this one too (whoever else held a token of it is out); the answer is a fresh
 * session's token pair, which goes on with this session's `amr` and `auth_time`: a password alone never renews
 * a sign-in made with a second factor.
 */
export async function changePassword(ctx: ServiceContext, actor: AccessClaims, input: ChangePasswordRequest): Promise<TokenPair> {
  requireRecentAuthentication(ctx, actor);
  const proved = await provePassword(ctx, signedIn(actor), input.current_password, "password_change");
  try {
    await refuseBreachedPassword(ctx, input.new_password);
  } catch (error) {
    proved.settle();
    throw error;
  }
  const [newHash, session, notice] = await Promise.all([
    hashPassword(input.new_password),
    newSession(ctx, { continues: actor.sessionId, factor: "kept" }),
    mailToQueue(ctx, passwordChangedNotice("changed")),
  ]);
  const result = await endingSessions(ctx, (ender) =>
    applyChange(ctx.db, ender, {
      userId: actor.userId,
      sessionId: actor.sessionId,
      verifiedHash: proved.holder.password_hash,
      run: proved.holder.run,
      newHash,
      fresh: session.fresh,
      notice,
      events: ctx.events,
    }),
  );
  // the session ended, or the password changed elsewhere, while this one was being checked
  if (!result.standing) throw failure("session_ended");
  deliverLater(ctx, result.notice);
  return mintTokens(ctx, result.standing, session.refreshToken);
}
