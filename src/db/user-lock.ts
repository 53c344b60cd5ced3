// One lock order: every statement that starts, extends or ends a session, or changes a role, status or
// password, first locks the rows of the users it touches, in the same transaction (one round trip). A
// revocation and a racing login or rotation are thereby serialised: whichever comes second sees the first.
import type { Compilable, Expression, SqlBool } from "kysely";
import { type Db, runAfter } from "./client.ts";

/**
 * The users whose rows are locked: by id, by address, the owner of a refresh token (all a rotation knows), or of
 * the session a new-device notice's link names (all a report knows).
 */
export type LockedUsers = { ids: string[] } | { email: string } | { refreshTokenHash: Uint8Array } | { reportTokenHash: Uint8Array };

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

function lockQuery(db: Db, lock: UserLock) {
  const { users, mode, activeAdmins = false } = lock;
  const query = db
    .selectFrom("users")
    .select("id")
    .where((eb) => {
      const chosen: Expression<SqlBool>[] = [
        "ids" in users
          ? eb("id", "in", users.ids)
          : "email" in users
            ? eb("email", "=", users.email)
            : "refreshTokenHash" in users
              ? eb("id", "=", eb.selectFrom("refresh_tokens").select("user_id").where("token_hash", "=", users.refreshTokenHash))
              : eb("id", "=", eb.selectFrom("sessions").select("user_id").where("report_token_hash", "=", users.reportTokenHash)),
      ];
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
