// Every read and write of a password hash: the check's read, the upgrade of an old hash, a change with the
// current password, and a reset with an emailed code.
import type { ImportedHashes } from "../auth/passwords.ts";
import type { UserStatus } from "../schemas/user.ts";
import type { Db } from "./client.ts";
import { type CodeGuess, judgeGuess } from "./codes.ts";
import { type EventContext, noRowDetails, recordEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { partBuilder, QueryRows, type Step, withSteps } from "./parts.ts";
import type { EndedSession, SessionEnder } from "./revocations.ts";
import type { Users } from "./schema.ts";
import { afterLockingUsers } from "./user-lock.ts";
import { type Selectable, sql } from "kysely";

type ChangedUser = Pick<Selectable<Users>, "id" | "email" | "role">;

const passwordParts = partBuilder<{ changed: ChangedUser; fresh: { session_id: string } }>();

/** The account a password is checked against. */
export type PasswordHolder = Pick<Selectable<Users>, "id" | "email" | "password_hash" | "status" | "role">;

/**
 * What a password check needs, by email (login) or by id (re-authentication): the holder, if there is one,
 * and whether imported bcrypt hashes remain anywhere (every check then pays for one bcrypt too).
 */
export async function findPasswordHolder(
  db: Db,
  by: { email: string } | { id: string },
): Promise<{ holder: PasswordHolder | undefined; imported: ImportedHashes }> {
  const flags = db
    .selectNoFrom((eb) =>
      eb.exists(eb.selectFrom("users").select("id").where("password_hash", "like", sql.lit("$2%"))).as("imported_remain"),
    )
    .as("flags");
  const row = await db
    .selectFrom(flags)
    .leftJoin("users", (join) => join.on((eb) => ("email" in by ? eb("users.email", "=", by.email) : eb("users.id", "=", by.id))))
    .select(["flags.imported_remain", "users.id", "users.email", "users.password_hash", "users.status", "users.role"])
    .executeTakeFirstOrThrow();
  const { imported_remain, id, email, password_hash, status, role } = row;
  const holder =
    id !== null && email !== null && password_hash !== null && status !== null && role !== null
      ? { id, email, password_hash, status, role }
      : undefined;
  return { holder, imported: imported_remain ? "remain" : "none" };
}

/**
 * Replaces an outdated password hash with `to`, only if `from` is still the stored one: a password
 * changed or reset meanwhile is never overwritten by the old password's upgrade.
 */
export async function upgradePasswordHash(db: Db, upgrade: { userId: string; from: string; to: string; now: Date }): Promise<void> {
  await db
    .updateTable("users")
    .set({ password_hash: upgrade.to, updated_at: upgrade.now })
    .where("id", "=", upgrade.userId)
    .where("password_hash", "=", upgrade.from)
    .execute();
}

export interface PasswordChange {
  userId: string;
  /** The session the change is made from: it lives on, with a fresh refresh token. */
  sessionId: string;
  /** The hash the current password was checked against: if it changed since, nothing happens. */
  verifiedHash: string;
  newHash: string;
  freshToken: { hash: Uint8Array; expiresAt: Date };
  notice: MailToQueue;
  events: EventContext;
}

/** The new password, if the one checked is still the stored one and the change comes from a session still live. */
function setCheckedPassword(change: PasswordChange): Step {
  const { userId, sessionId, verifiedHash, newHash, events } = change;
  return (statement) =>
    statement.with("changed", (q) =>
      q
        .updateTable("users")
        .set({ password_hash: newHash, updated_at: events.now })
        .where("id", "=", userId)
        .where("password_hash", "=", verifiedHash)
        .where("status", "=", "verified")
        .where((eb) => eb.exists(eb.selectFrom("sessions").select("id").where("id", "=", sessionId).where("user_id", "=", userId)))
        .returning(["id", "email", "role"]),
    );
}

/** The session the change came from keeps going on a fresh refresh token: the ones it held are retired. */
function renewSessionToken(change: PasswordChange): Step {
  const { sessionId, freshToken, events } = change;
  const changed = passwordParts.selectFrom("changed");
  return (statement) =>
    statement
      .with(
        "retired",
        () =>
          new QueryRows(
            passwordParts
              .deleteFrom("refresh_tokens")
              .where("session_id", "=", sessionId)
              .where((eb) => eb.exists(changed.select("id")))
              .returning("session_id"),
          ),
      )
      .with(
        "fresh",
        () =>
          new QueryRows(
            passwordParts
              .insertInto("refresh_tokens")
              .columns(["token_hash", "session_id", "user_id", "expires_at", "created_at"])
              .expression((eb) =>
                changed.select([
                  eb.val(freshToken.hash).as("token_hash"),
                  eb.val(sessionId).as("session_id"),
                  "id",
                  eb.val(freshToken.expiresAt).as("expires_at"),
                  eb.val(events.now).as("created_at"),
                ]),
              )
              .returning("session_id"),
          ),
      );
}

/** The account hears of a new password, without the password. */
function passwordNotice(notice: MailToQueue) {
  return queueMail("notice", { recipients: () => passwordParts.selectFrom("changed").select("email as to_address"), mail: notice });
}

/**
 * Sets a new password and ends every other session of the user, in one transaction after taking the
 * user's row lock (so a racing login either came first and is ended, or sees the new password); the
 * current session's refresh tokens are replaced by `freshToken`.
 */
export async function changePassword(
  db: Db,
  ender: SessionEnder,
  change: PasswordChange,
): Promise<{ changed: boolean; role: ChangedUser["role"] | undefined; notice: QueuedMail | null; endedSessions: EndedSession[] }> {
  const ending = ender.endSessions(() =>
    passwordParts
      .selectFrom("sessions")
      .select("id")
      .where("user_id", "in", passwordParts.selectFrom("changed").select("id"))
      .where("id", "<>", change.sessionId),
  );
  const notice = passwordNotice(change.notice);
  const statement = withSteps(
    db,
    setCheckedPassword(change),
    ending.step,
    renewSessionToken(change),
    notice.step,
    recordEvents(change.events, {
      type: "password_changed",
      rows: () => passwordParts.selectFrom("changed").select(["id as user_id", noRowDetails()]),
    }),
  ).selectNoFrom((eb) => [
    passwordParts.selectFrom("changed").select("role").as("role"),
    eb.exists(passwordParts.selectFrom("fresh").select("session_id")).as("refreshed"),
    notice.queued().as("notice"),
    ending.ended().as("ended_sessions"),
  ]);
  const [row] = await afterLockingUsers(db, { users: { ids: [change.userId] }, mode: "change" }, statement);
  return {
    changed: row?.refreshed === true,
    role: row?.role ?? undefined,
    notice: row?.notice ?? null,
    endedSessions: ender.parse(row?.ended_sessions ?? []),
  };
}

export interface PasswordReset {
  guess: CodeGuess;
  passwordHash: string;
  /** To the account's address once the password is reset: no code in it. */
  notice: MailToQueue;
  events: EventContext;
}

/**
 * Checks a guess at the reset code of an address and, if right, in one transaction: consumes the code,
 * sets the new password, marks the address proved (the code reached it), ends every session of the
 * account, queues a notice and records the event. The account's row is locked first, so a login racing
 * the reset either commits first, and its session is ended here, or sees the new password.
 */
export async function resetPassword(
  db: Db,
  ender: SessionEnder,
  reset: PasswordReset,
): Promise<{ reset: boolean; notice: QueuedMail | null; endedSessions: EndedSession[] }> {
  const { guess, passwordHash, events } = reset;
  const now = guess.now;
  const judged = judgeGuess(guess);
  const ending = ender.endSessions(() =>
    passwordParts
      .selectFrom("refresh_tokens")
      .select("session_id")
      .where("user_id", "in", passwordParts.selectFrom("changed").select("id")),
  );
  const notice = passwordNotice(reset.notice);
  const statement = withSteps(
    db,
    judged.step,
    (statement) =>
      statement.with("changed", (q) =>
        q
          .updateTable("users")
          .set((eb) => ({
            password_hash: passwordHash,
            // the code reached the address: it is proved
            status: eb.case().when("status", "=", "unverified").then(eb.val<UserStatus>("verified")).else(eb.ref("status")).end(),
            verified_at: eb.fn.coalesce("verified_at", eb.val(now)),
            updated_at: now,
          }))
          .where("id", "in", judged.consumedBy())
          .returning(["id", "email", "role"]),
      ),
    ending.step,
    notice.step,
    recordEvents(events, {
      type: "password_reset_completed",
      rows: () => passwordParts.selectFrom("changed").select(["id as user_id", noRowDetails()]),
    }),
  ).selectNoFrom((eb) => [
    eb.exists(passwordParts.selectFrom("changed").select("id")).as("reset"),
    notice.queued().as("notice"),
    ending.ended().as("ended_sessions"),
  ]);
  const [row] = await afterLockingUsers(db, { users: { email: guess.address }, mode: "change" }, statement);
  return { reset: row?.reset === true, notice: row?.notice ?? null, endedSessions: ender.parse(row?.ended_sessions ?? []) };
}
