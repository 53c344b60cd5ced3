import { verifyPassword } from "../auth/passwords.ts";
import { recordEvent } from "../db/events.ts";
import { findPasswordHolder } from "../db/passwords.ts";
import { failure } from "../errors.ts";
import type { ServiceContext } from "./context.ts";

/** What re-authentication was for, in the `login_failed` event of a wrong password. */
export type Reauthentication = "password_change" | "email_change";

/**
 * Proves the caller still knows their password before a change that could take the account away (a new
 * password, a new login address): one round trip, and a guess that counts against the address like a
 * login's; a wrong one is recorded as a failed login. Returns the hash it checked, so the change can make
 * sure it is still the stored one.
 */
export async function reauthenticate(
  ctx: ServiceContext,
  userId: string,
  password: string,
  during: Reauthentication,
): Promise<{ passwordHash: string }> {
  const { holder } = await findPasswordHolder(ctx.db, { id: userId });
  if (!holder) throw failure("user_gone");
  await ctx.limitPasswordGuesses(holder.email);
  const { valid } = await verifyPassword(password, holder.password_hash);
  if (!valid) {
    ctx.defer(recordEvent(ctx.db, ctx.events, { type: "login_failed", userId: holder.id, details: { reason: "wrong_password", during } }));
    throw failure("wrong_current_password");
  }
  return { passwordHash: holder.password_hash };
}
