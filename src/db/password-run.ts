// A run of wrong passwords (POLICY.passwordRun): the account's, or a known device's own (OWASP's device cookies),
// so failures from elsewhere never slow or lock the owner's devices. Each try is counted as its hash is read,
// before the password is checked, and a right one ends the run in the statement that acts on it.
import { type Expression, sql } from "kysely";
import type { PasswordRunPolicy } from "../policy.ts";
import { cte, QueryRows, type Step, tables } from "./parts.ts";

/** Whose run a try was counted in: the account's, or a known device's of that account. */
export interface PasswordRun {
  userId: string;
  deviceId: string | undefined;
}

/**
 * When the next try may come, after the try that made `failures` wrong ones in a row: at once for the first
 * few, then after 1, 2, 4 … seconds up to the longest wait, and never after the last (a reset clears it).
 * Raw SQL for what the builder cannot say: the 'infinity' timestamp a lock is, and interval arithmetic.
 */
export function nextTryAfter(failures: Expression<number>, now: Date, run: PasswordRunPolicy) {
  const { free, maxWaitSeconds, lockAt } = run;
  return sql<Date | null>`case when ${failures} >= ${lockAt} then 'infinity'::timestamptz
    when ${failures} > ${free} then ${now}::timestamptz + least(power(2, ${failures} - ${free} - 1), ${maxWaitSeconds}) * interval '1 second'
    end`;
}

/**
 * Where a run stands now, worked out in SQL from its table's `login_blocked_until`: locked, or waiting some seconds.
 * Raw SQL where a lock's 'infinity' is compared (it never leaves the database).
 */
export function runColumns(now: Date) {
  return [
    "login_failures",
    sql<boolean>`coalesce(login_blocked_until = 'infinity'::timestamptz, false)`.as("locked"),
    sql<number | null>`case when login_blocked_until > ${now}::timestamptz and login_blocked_until < 'infinity'::timestamptz
      then ceil(extract(epoch from login_blocked_until - ${now}::timestamptz))::integer end`.as("wait_seconds"),
  ] as const;
}

const runEnded = cte<{ id: string }>()("password_run_ended");

/**
 * The right password ends the run its try was counted in (its own try with it): for the statement that acts on
 * the password, so ending the run costs no round trip of its own.
 */
export function endPasswordRun(run: PasswordRun): Step {
  const ended = { login_failures: 0, login_blocked_until: null };
  return runEnded.as(
    () =>
      new QueryRows(
        run.deviceId === undefined
          ? tables
              .updateTable("users")
              .set(ended)
              .where("id", "=", run.userId)
              .where((eb) => eb.or([eb("login_failures", ">", 0), eb("login_blocked_until", "is not", null)]))
              .returning("id")
          : tables
              .updateTable("devices")
              .set(ended)
              .where("id", "=", run.deviceId)
              .where((eb) => eb.or([eb("login_failures", ">", 0), eb("login_blocked_until", "is not", null)]))
              .returning("id"),
      ),
  );
}
