// The password guard: every endpoint that takes a password (login, re-authentication, a password or email
// change, a factor's enrolment or removal) checks it here, under the account's run of wrong passwords
// (POLICY.passwordRun). The try is counted in the statement that reads the hash, before the password is judged,
// so tries at once meet the same waits and lock as tries in a row; a try refused while the account waits is not
// judged and learns nothing.
import { spendPasswordCheckTime, verifyPassword } from "../../auth/passwords.ts";
import type { AccessClaims } from "../../auth/tokens.ts";
import { recordEvent } from "../../db/events.ts";
import {
  chargePasswordTry,
  endPasswordRunNow,
  type FailureCount,
  type PasswordHolder,
  type PasswordHolderKey,
  recordPasswordFailure,
} from "../../db/passwords.ts";
import { ApiError, failure } from "../../errors.ts";
import { accountLockedNotice } from "../../mail/templates.ts";
import { POLICY } from "../../policy.ts";
import type { EventDetails } from "../../db/events.ts";
import type { ServiceContext } from "../context.ts";
import { deliverLater, mailToQueue } from "../mail-delivery.ts";

/** What a password is presented for, in the `login_failed` event of a wrong one. */
export type PasswordUse = "login" | "password_change" | "email_change" | "mfa_change" | "passkey_change" | "step_up" | "identity_link";

/** A password proved right. Its try was counted in the account's run: the statement that acts on it ends the run. */
export interface ProvedPassword {
  holder: PasswordHolder & { password_hash: string };
  /** Right, but the stored hash is an old one: store a new hash of the password. */
  needsRehash: boolean;
  /** When nothing goes on to act on the password (the change was refused for another reason): ends the run after the answer. */
  settle(): void;
}

const NOT_ITS = { valid: false, needsRehash: false };

export const wrongCredentials = () => new ApiError("invalid_credentials", "The email or password is wrong.");

/** The answer to a try at an account that waits out its wrong passwords: the same for the right password. */
function waitingError(waiting: NonNullable<PasswordHolder["waiting"]>): ApiError {
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
 * Records a failed password check of a known account after the answer, with its event: a try counted when it
 * was read (`counted`), or a right password refused for the account's state (`clear`: the run is over). The try
 * that makes the hundredth wrong one in a row tells the account it is locked.
 */
export function recordFailure(ctx: ServiceContext, holder: PasswordHolder, count: FailureCount, details: EventDetails): void {
  // the try that makes the account's hundredth tells the owner; a device's own run locks only that device's path
  const locksNow =
    count === "counted" &&
    holder.run.deviceId === undefined &&
    holder.waiting === undefined &&
    holder.login_failures === POLICY.passwordRun.lockAt;
  ctx.defer(
    (async () => {
      const lockNotice = locksNow ? await mailToQueue(ctx, accountLockedNotice()) : undefined;
      const notice = await recordPasswordFailure(ctx.db, {
        userId: holder.id,
        run: holder.run,
        count,
        details,
        lockNotice,
        policy: POLICY.passwordRun,
        events: ctx.events,
      });
      deliverLater(ctx, notice);
    })(),
  );
}

/** A signed-in caller's password tries: their account, and the run of their session's device. */
export function signedIn(actor: AccessClaims): PasswordHolderKey {
  return { userId: actor.userId, sessionId: actor.sessionId };
}

/** The refusal of a password that is not the account's: a login's words, or a signed-in caller's. */
function wrongPassword(use: PasswordUse): ApiError {
  return use === "login" ? wrongCredentials() : failure("wrong_current_password");
}

/**
 * Checks a password against the account `key` names, counting the try first (one round trip). Throws the answer
 * for every failure, recording it after the answer: an unknown address costs the same password work as a wrong
 * password (a signed-in caller's account is gone: `user_gone`); an account that waits refuses the right password
 * alike, unchecked. While imported hashes remain, a login's check does the same work whatever the address.
 */
export async function provePassword(
  ctx: ServiceContext,
  key: PasswordHolderKey,
  password: string,
  use: PasswordUse,
): Promise<ProvedPassword> {
  const { holder, imported } = await chargePasswordTry(ctx.db, { key, run: POLICY.passwordRun, events: ctx.events });
  const details = (reason: string): EventDetails => (use === "login" ? { reason } : { reason, during: use });
  if (!holder) {
    if (!("email" in key)) throw failure("user_gone");
    await spendPasswordCheckTime(password, imported);
    ctx.defer(
      recordEvent(ctx.db, ctx.events, { type: "login_failed", userId: null, details: { reason: "unknown_address", email: key.email } }),
    );
    throw wrongCredentials();
  }
  if (holder.waiting) {
    recordFailure(ctx, holder, "counted", details(holder.waiting === "locked" ? "locked" : "throttled"));
    throw waitingError(holder.waiting);
  }
  const check = use === "login" ? imported : "none";
  const passwordHash = holder.password_hash;
  // an account a provider made has no password: no password is its, after the same work as any check
  const { valid, needsRehash } =
    passwordHash === null
      ? await spendPasswordCheckTime(password, check).then(() => NOT_ITS)
      : await verifyPassword(password, passwordHash, check);
  if (passwordHash === null || !valid) {
    // how long the run it met is now, this try counted: the account's, or a known device's own
    const run = { in_a_row: holder.login_failures, run: holder.run.deviceId === undefined ? "account" : "device" };
    recordFailure(ctx, holder, "counted", { ...details("wrong_password"), ...run });
    throw wrongPassword(use);
  }
  return {
    holder: { ...holder, password_hash: passwordHash },
    needsRehash,
    settle: () => ctx.defer(endPasswordRunNow(ctx.db, holder.run)),
  };
}
