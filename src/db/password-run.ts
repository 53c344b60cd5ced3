// An account's run of wrong passwords (POLICY.passwordRun): each try is counted as its hash is read, before
// the password is checked, and a right one ends the run in the statement that acts on it.
import { type Expression, sql } from "kysely";
import type { PasswordRunPolicy } from "../policy.ts";
import { cte, QueryRows, type Step, tables } from "./parts.ts";

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

const runEnded = cte<{ id: string }>()("password_run_ended");

/**
 * The right password ends the account's run of wrong ones (its own try, counted when the hash was read, with
 * them): for the statement that acts on the password, so ending the run costs no round trip of its own.
 */
export function endPasswordRun(userId: string): Step {
  return runEnded.as(
    () =>
      new QueryRows(
        tables
          .updateTable("users")
          .set({ login_failures: 0, login_blocked_until: null })
          .where("id", "=", userId)
          .where((eb) => eb.or([eb("login_failures", ">", 0), eb("login_blocked_until", "is not", null)]))
          .returning("id"),
      ),
  );
}
