// One lock order: every statement that starts, extends or ends a session, or changes a role, status or
// password, first locks the rows of the users it touches, in the same transaction (one round trip). A
// revocation and a racing login or rotation are thereby serialised: whichever comes second sees the first.
import type { Compilable, Expression, ExpressionBuilder, SqlBool } from "kysely";
import { type Db, runAfter } from "./client.ts";
import type { DB } from "./schema.ts";

/**
 * The users whose rows are locked: by id, by address, the owner of a refresh token (all a rotation knows), of the
 * session a new-device notice's link names (all a report knows) or of a deletion's cancel token, or the first
 * `limit` accounts whose deletion is due by `dueBy` (the cron's erasure).
 */
export type LockedUsers =
  | { ids: string[] }
  | { email: string }
  | { refreshTokenHash: Uint8Array }
  | { reportTokenHash: Uint8Array }
  | { deletionCancelHash: Uint8Array }
  | { deletionDueBy: Date; limit: number };

export interface UserLock {
  users: LockedUsers;
  /**
   * `share` for a statement that starts or extends a session on the row as it stands (a login, a rotation):
   * many may hold it at once. `change` for one that changes the row or ends the user's sessions: it waits
   * for every `share` holder and they for it.
   */
  mode: "share" | "change";
  /** Also every active admin's row: two admins demoting each other at once must not both see the other as the one left. */
  activeAdmins?: boolean;
}

/**
 * The first `limit` accounts, by id, whose deletion is due by `dueBy`: the cron's erasure locks these, then erases
 * them. The row's own column is tested too, so a cancellation that commits while this waits for the row is seen.
 */
export function dueForErasure(eb: ExpressionBuilder<DB, "users">, dueBy: Date, limit: number): Expression<SqlBool> {
  const due = eb.selectFrom("users").select("id").where("deletion_due_at", "<=", dueBy).orderBy("id").limit(limit);
  return eb.and([eb("deletion_due_at", "<=", dueBy), eb("id", "in", due)]);
}

function chosenUsers(eb: ExpressionBuilder<DB, "users">, users: LockedUsers): Expression<SqlBool> {
  if ("ids" in users) return eb("id", "in", users.ids);
  if ("email" in users) return eb("email", "=", users.email);
  if ("refreshTokenHash" in users)
    return eb("id", "=", eb.selectFrom("refresh_tokens").select("user_id").where("token_hash", "=", users.refreshTokenHash));
  if ("reportTokenHash" in users)
    return eb("id", "=", eb.selectFrom("sessions").select("user_id").where("report_token_hash", "=", users.reportTokenHash));
  if ("deletionCancelHash" in users) return eb("deletion_cancel_hash", "=", users.deletionCancelHash);
  return dueForErasure(eb, users.deletionDueBy, users.limit);
}

function lockQuery(db: Db, lock: UserLock) {
  const { users, mode, activeAdmins = false } = lock;
  const query = db
    .selectFrom("users")
    .select("id")
    .where((eb) => {
      const chosen: Expression<SqlBool>[] = [chosenUsers(eb, users)];
      if (activeAdmins) chosen.push(eb.and([eb("role", "=", "admin"), eb("status", "=", "verified")]));
      return eb.or(chosen);
    })
    // always in id order, so two statements locking the same rows cannot deadlock
    .orderBy("id");
  return mode === "share" ? query.forShare() : query.forNoKeyUpdate();
}

/**
 * Runs `statement` after locking the users' rows (and after `prepared`, statements that make room for it), as one
 * transaction in one round trip; the statement sees everything committed before the lock was granted. Returns the
 * statement's rows.
 */
export function afterLockingUsers<O>(db: Db, lock: UserLock, statement: Compilable<O>, prepared: Compilable<unknown>[] = []): Promise<O[]> {
  return runAfter(db, [lockQuery(db, lock).compile(), ...prepared.map((query) => query.compile())], statement.compile());
}
