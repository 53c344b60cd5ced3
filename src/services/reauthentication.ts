import { verifyPassword } from "../auth/passwords.ts";
import { findPasswordHolder } from "../db/passwords.ts";
import { failure } from "../errors.ts";
import type { ServiceContext } from "./context.ts";
import { recordFailure, waitingError } from "./password-failures.ts";

/** What re-authentication was for, in the `login_failed` event of a wrong password. */
export type Reauthentication = "password_change" | "email_change" | "mfa_change" | "step_up";

/**
 * Proves the caller still knows their password before a change that could take the account away (a new
 * password, a new login address): one round trip, under the account's rule for wrong passwords (a wrong one
 * is counted and recorded as a failed login after the answer; an account that waits refuses even the right
 * one). Returns the hash it checked, so the change can make sure it is still the stored one.
 */
export async function reauthenticate(
  ctx: ServiceContext,
  userId: string,
  password: string,
  during: Reauthentication,
): Promise<{ passwordHash: string }> {
  const { holder } = await findPasswordHolder(ctx.db, userId, ctx.now);
  if (!holder) throw failure("user_gone");
  if (holder.waiting) throw waitingError(holder.waiting);
  const { valid } = await verifyPassword(password, holder.password_hash);
  if (!valid) {
    recordFailure(ctx, holder, "add", { reason: "wrong_password", during });
    throw failure("wrong_current_password");
  }
  return { passwordHash: holder.password_hash };
}
