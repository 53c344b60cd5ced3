import { checkBreached } from "../auth/breached-passwords.ts";
import { ApiError } from "../errors.ts";
import type { ServiceContext } from "./context.ts";

/**
 * Refuses a new password found in data breaches (Have I Been Pwned's range API, k-anonymity). When the
 * service does not answer within PWNED_PASSWORDS_TIMEOUT_MS, the password is let through and it is logged:
 * an outage of theirs must not stop signups, resets and changes here.
 */
export async function refuseBreachedPassword(ctx: ServiceContext, password: string): Promise<void> {
  const check = await checkBreached(password, {
    rangeUrl: ctx.config.PWNED_PASSWORDS_RANGE_URL,
    timeoutMs: ctx.config.PWNED_PASSWORDS_TIMEOUT_MS,
  });
  if (check.breached === true) {
    throw new ApiError("password_breached", "This password appears in known data breaches, so others may try it: choose another.");
  }
  if (check.breached === undefined) ctx.log.warn("breached-password check unavailable: password let through", { reason: check.reason });
}
