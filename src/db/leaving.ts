// Leaving: an owner's deletion (the account waits out its grace period, every session ended), its cancellation by
// the token mailed to them, and the cron's erasure once the period is over.
import type { Db } from "./client.ts";
import { eraseUsers, erasedUsers } from "./erasure.ts";
import { type EventContext, noRowDetails, recordEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { cte, QueryRows, type Step, tables, withSteps } from "./parts.ts";
import { advanceGeneration, type Endings, endingsFrom, type SessionEnder } from "./revocations.ts";
import { afterLockingUsers, dueForErasure } from "./user-lock.ts";
import { actorGuard, lastAdminGuard, refusalOf, spendLiveCodes, USER_COLUMNS, userFrom, type UserRow } from "./users.ts";

const scheduled = cte<UserRow & { session_generation: number }>()("scheduled");
const restored = cte<{ id: string; email: string }>()("restored");

export interface DeletionRequest {
  userId: string;
  /** SHA-256 of the token that cancels it, which only the owner's mail carries. */
  cancelHash: Uint8Array;
  dueAt: Date;
  /** To the owner: when the data goes, and the token. */
  mail: MailToQueue;
  events: EventContext;
}

export type DeletionOutcome =
  | { outcome: "scheduled"; user: UserRow; mail: QueuedMail | null; endings: Endings }
  | { outcome: "forbidden" | "last_admin"; endings: Endings };

/** The account turns pending deletion, unless it no longer stands (not verified) or is the last active admin. */
function scheduleDeletion(request: DeletionRequest, guards: ReturnType<typeof deletionGuards>): Step {
  const { userId, cancelHash, dueAt, events } = request;
  return scheduled.as(
    (q) =>
      new QueryRows(
        q
          .updateTable("users")
          .set((eb) => ({
            status: "pending_deletion",
            deletion_due_at: dueAt,
            deletion_cancel_hash: cancelHash,
            updated_at: events.now,
            ...advanceGeneration(eb, events.now),
          }))
          .where("id", "=", userId)
          .where((eb) => eb.not(eb.or(guards.map((guard) => guard.holds))))
          .returning([...USER_COLUMNS, "session_generation"]),
      ),
  );
}

function deletionGuards(userId: string) {
  return [actorGuard({ id: userId, needs: "user" }), lastAdminGuard(userId)];
}

/**
 * The owner's deletion, after locking their row and every active admin's (the last one cannot leave): the account
 * turns pending deletion until `dueAt`, every session of it ends (its generation moves on), its pending codes stop
 * working, the owner is mailed the cancel token and the event is recorded, in one statement.
 */
export async function requestDeletion(db: Db, ender: SessionEnder, request: DeletionRequest): Promise<DeletionOutcome> {
  const { userId, dueAt, events } = request;
  const guards = deletionGuards(userId);
  const ending = ender.endAllSessionsAdvancedBy(() => scheduled.from().select(["id", "session_generation"]));
  const mail = queueMail("mail", { recipients: () => scheduled.from().select("email as to_address"), mail: request.mail });
  const statement = withSteps(
    db,
    scheduleDeletion(request, guards),
    ending.step,
    // an account waiting to be erased proves nothing more: its pending codes (a reset's, an email change's) stop working
    spendLiveCodes(cte<{ id: string }>()("codes_spent"), { owners: () => scheduled.from().select("id"), now: events.now }),
    mail.step,
    recordEvents(events, {
      type: "deletion_requested",
      details: { due_at: dueAt.toISOString() },
      rows: () => scheduled.from().select(["id as user_id", noRowDetails()]),
    }),
  )
    .selectFrom(tables.selectNoFrom([refusalOf(guards).as("refusal"), mail.queued().as("mail"), ending.ended().as("ended")]).as("effects"))
    .leftJoin(scheduled.from().select(USER_COLUMNS).as("scheduled"), (join) => join.onTrue())
    .selectAll();
  const [row] = await afterLockingUsers(db, { users: { ids: [userId] }, mode: "change", activeAdmins: true }, statement);
  const endings = endingsFrom(row?.ended);
  const user = row && userFrom(row);
  if (user) return { outcome: "scheduled", user, mail: row?.mail ?? null, endings };
  return { outcome: row?.refusal === "last_admin" ? "last_admin" : "forbidden", endings };
}

/**
 * Cancels a deletion with its token while the grace period lasts, after locking the account's row (a cancellation
 * and the cron's erasure come one after the other): the account is verified again, the token spent, the owner told.
 * Nobody is signed in. Whether it was cancelled, and the notice.
 */
export async function cancelDeletion(
  db: Db,
  request: { cancelHash: Uint8Array; notice: MailToQueue; events: EventContext },
): Promise<{ cancelled: boolean; notice: QueuedMail | null }> {
  const { cancelHash, events } = request;
  const notice = queueMail("notice", { recipients: () => restored.from().select("email as to_address"), mail: request.notice });
  const statement = withSteps(
    db,
    restored.as(
      (q) =>
        new QueryRows(
          q
            .updateTable("users")
            .set({ status: "verified", deletion_due_at: null, deletion_cancel_hash: null, updated_at: events.now })
            .where("deletion_cancel_hash", "=", cancelHash)
            .where("status", "=", "pending_deletion")
            .where("deletion_due_at", ">", events.now)
            .returning(["id", "email"]),
        ),
    ),
    notice.step,
    recordEvents(events, { type: "deletion_cancelled", rows: () => restored.from().select(["id as user_id", noRowDetails()]) }),
  ).selectNoFrom((eb) => [eb.exists(restored.from().select("id")).as("cancelled"), notice.queued().as("notice")]);
  const [row] = await afterLockingUsers(db, { users: { deletionCancelHash: cancelHash }, mode: "change" }, statement);
  return { cancelled: row?.cancelled === true, notice: row?.notice ?? null };
}

/**
 * Erases up to `limit` accounts whose grace period ended by `now`, after locking their rows, in one transaction.
 * Their sessions ended when the deletion was asked for. Returns how many went.
 */
export async function eraseDueAccounts(db: Db, request: { now: Date; limit: number; events: EventContext }): Promise<number> {
  const { now, limit, events } = request;
  const statement = withSteps(db, ...eraseUsers({ which: (eb) => dueForErasure(eb, now, limit), by: "owner", events })).selectNoFrom((eb) =>
    eb.selectFrom(erasedUsers().as("erased")).select(eb.fn.countAll<string>().as("n")).as("erased"),
  );
  const [row] = await afterLockingUsers(db, { users: { deletionDueBy: now, limit }, mode: "change" }, statement);
  return Number(row?.erased ?? 0);
}
