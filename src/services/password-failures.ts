import { type FailureCount, PASSWORD_FAILURES, type PasswordHolder, recordPasswordFailure } from "../db/passwords.ts";
import { ApiError } from "../errors.ts";
import { accountLockedNotice } from "../mail/templates.ts";
import type { EventDetails } from "../db/events.ts";
import type { ServiceContext } from "./context.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";

/** The answer to a try at an account that waits out its wrong passwords: the same for the right password. */
export function waitingError(waiting: NonNullable<PasswordHolder["waiting"]>): ApiError {
  if (waiting === "locked") {
    return new ApiError(
      "account_locked",
      "Too many wrong passwords for this account: choose a new password with “Forgot password” to open it again.",
    );
  }
  return new ApiError("too_many_requests", `Too many wrong passwords: wait ${waiting.seconds} seconds and try again.`, {
    retryAfterSeconds: waiting.seconds,
  });
}

/**
 * Records a failed password check of a known account after the answer, with its event: a wrong password
 * counted (`add`) or already counted at its read (`counted`), or the run cleared (`clear`: the password was
 * right but the account refused). When the failure makes a hundred in a row, the account is told it is locked.
 */
export function recordFailure(ctx: ServiceContext, holder: PasswordHolder, count: FailureCount, details: EventDetails): void {
  const failures = count === "add" ? holder.login_failures + 1 : holder.login_failures;
  ctx.defer(
    (async () => {
      const lockNotice =
        count !== "clear" && failures >= PASSWORD_FAILURES.lockAt ? await mailToQueue(ctx, accountLockedNotice()) : undefined;
      const notice = await recordPasswordFailure(ctx.db, { userId: holder.id, count, details, lockNotice, events: ctx.events });
      deliverLater(ctx, notice);
    })(),
  );
}
