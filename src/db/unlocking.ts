// An admin's unlock, for an owner shut out by wrong passwords ("I'm locked out"): the account's run of wrong
// passwords, and its known devices' runs, cleared in one statement, while the admin is still one; audited, the
// owner told.
import { type Expression, expressionBuilder, type SqlBool } from "kysely";
import { jsonBuildObject } from "kysely/helpers/postgres";
import { type Actor, actorStands } from "./actor.ts";
import type { Db } from "./client.ts";
import { type EventContext, recordEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { cte, QueryRows, type Step, tables, withSteps } from "./parts.ts";
import { runColumns } from "./password-run.ts";
import { afterLockingUsers } from "./user-lock.ts";

const runBefore = cte<{ id: string; email: string; login_failures: number; locked: boolean }>()("run_before");
const accountCleared = cte<{ id: string }>()("account_run_cleared");
const devicesCleared = cte<{ user_id: string }>()("device_runs_cleared");

export interface Unlock {
  userId: string;
  actor: Actor;
  /** To the owner: their account takes a password again. */
  notice: MailToQueue;
  events: EventContext;
}

export type UnlockOutcome = "unlocked" | "not_locked" | "not_found" | "forbidden";

/** The runs of wrong passwords of the account and of its known devices, cleared where there is one, while `allowed`. */
function clearRuns(userId: string, allowed: Expression<SqlBool>): Step[] {
  const cleared = { login_failures: 0, login_blocked_until: null };
  return [
    accountCleared.as(
      () =>
        new QueryRows(
          tables
            .updateTable("users")
            .set(cleared)
            .where("id", "=", userId)
            .where((eb) => eb.or([eb("login_failures", ">", 0), eb("login_blocked_until", "is not", null)]))
            .where(allowed)
            .returning("id"),
        ),
    ),
    devicesCleared.as(
      () =>
        new QueryRows(
          tables
            .updateTable("devices")
            .set(cleared)
            .where("user_id", "=", userId)
            .where((eb) => eb.or([eb("login_failures", ">", 0), eb("login_blocked_until", "is not", null)]))
            .where(allowed)
            .returning("user_id"),
        ),
    ),
  ];
}

/**
 * Clears the runs of wrong passwords of the account and of its known devices, after locking the account's and the
 * actor's rows, if the actor is still an active admin and there is a run to clear: the next try is judged at once,
 * and four more wrong ones are free again (POLICY.passwordRun). The owner is mailed, the event records how long the
 * account's run was and whether it was locked.
 */
export async function unlockAccount(db: Db, unlock: Unlock): Promise<{ outcome: UnlockOutcome; notice: QueuedMail | null }> {
  const { userId, actor, events } = unlock;
  const allowed = actorStands(actor);
  const eb = expressionBuilder<object, never>();
  const unlocked = eb.or([eb.exists(accountCleared.from().select("id")), eb.exists(devicesCleared.from().select("user_id"))]);
  const notice = queueMail("notice", {
    recipients: () =>
      runBefore
        .from()
        .select("email as to_address")
        .where(() => unlocked),
    mail: unlock.notice,
  });
  const statement = withSteps(
    db,
    runBefore.as((q) =>
      q
        .selectFrom("users")
        .select(["id", "email", ...runColumns(events.now)])
        .where("id", "=", userId),
    ),
    ...clearRuns(userId, allowed),
    notice.step,
    recordEvents(events, {
      type: "account_unlocked",
      details: { by: "admin" },
      rows: () =>
        runBefore
          .from()
          .select((eb) => [
            "id as user_id",
            jsonBuildObject({ wrong_in_a_row: eb.ref("login_failures"), locked: eb.ref("locked") }).as("row_details"),
          ])
          .where(() => unlocked),
    }),
  ).selectNoFrom((eb) => [
    eb.exists(runBefore.from().select("id")).as("found"),
    allowed.as("allowed"),
    unlocked.as("unlocked"),
    notice.queued().as("notice"),
  ]);
  const [row] = await afterLockingUsers(db, { users: { ids: [userId, actor.id] }, mode: "change" }, statement);
  const outcome: UnlockOutcome =
    row?.allowed !== true ? "forbidden" : row.found !== true ? "not_found" : row.unlocked === true ? "unlocked" : "not_locked";
  return { outcome, notice: row?.notice ?? null };
}
