// Every read and write of a password hash: the guard's read (a try counted as it is read), the record of a
// failure, the upgrade of an old hash, a change with the current password, and a reset with a code.
import { type ExpressionBuilder, type Selectable, sql, type SqlBool } from "kysely";
import type { ImportedHashes } from "../auth/passwords.ts";
import type { PasswordRunPolicy } from "../policy.ts";
import type { UserStatus } from "../schemas/user.ts";
import type { Db } from "./client.ts";
import type { MatchedCode } from "./codes.ts";
import { type EventContext, type EventDetails, noRowDetails, recordEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { cte, QueryRows, type Step, tables, withSteps } from "./parts.ts";
import { endPasswordRun, nextTryAfter } from "./password-run.ts";
import { advanceGeneration, type Endings, endingsFrom, type SessionEnder } from "./revocations.ts";
import { type FreshSession, openedStanding, openSessionFor, SessionStanding } from "./sessions.ts";
import type { DB, Users } from "./schema.ts";
import { afterLockingUsers } from "./user-lock.ts";

/** The account a password is checked against, and its run of wrong passwords. */
export type PasswordHolder = Pick<
  Selectable<Users>,
  "id" | "email" | "password_hash" | "status" | "role" | "login_failures" | "deletion_due_at"
> & {
  /** The account's session generation: a login's challenge is bound to it. */
  generation: number;
  /** Whether the account waits out its wrong passwords now: for some seconds, or until a reset (locked). */
  waiting: { seconds: number } | "locked" | undefined;
  /** Whether a second factor is on: the right password then answers a challenge, not a session. */
  secondFactor: boolean;
};

/** Whose password is checked: a sign-in names the address, a signed-in caller is their id. */
export type PasswordHolderKey = { email: string } | { userId: string };

type ChangedUser = Pick<Selectable<Users>, "id" | "email" | "role" | "session_generation">;

const holderRow = cte<HolderRow>()("holder");
const charged = cte<{ login_failures: number }>()("charged");
const counted = cte<{ id: string; email: string; login_failures: number }>()("counted");
const changed = cte<ChangedUser>()("changed");
const consumed = cte<{ user_id: string }>()("consumed");

/** Whether imported bcrypt hashes remain anywhere, by the partial index that holds only them. */
function importedHashesRemain(db: Db) {
  return db
    .selectNoFrom((eb) =>
      eb.exists(eb.selectFrom("users").select("id").where("password_hash", "like", sql.lit("$2%"))).as("imported_remain"),
    )
    .as("flags");
}

/**
 * A holder's columns, with how long it waits now worked out in SQL. Raw SQL where a lock's 'infinity' is
 * compared (the builder has no infinite timestamp, and 'infinity' never leaves the database).
 */
function holderColumns(now: Date) {
  return [
    "id",
    "email",
    "password_hash",
    "status",
    "role",
    "login_failures",
    "session_generation",
    "deletion_due_at",
    sql<boolean>`coalesce(login_blocked_until = 'infinity'::timestamptz, false)`.as("locked"),
    sql<number | null>`case when login_blocked_until > ${now}::timestamptz and login_blocked_until < 'infinity'::timestamptz
      then ceil(extract(epoch from login_blocked_until - ${now}::timestamptz))::integer end`.as("wait_seconds"),
  ] as const;
}

/** What reading a password holder yields: the holder, if there is one, and whether imported hashes remain. */
export interface HolderRead {
  holder: PasswordHolder | undefined;
  imported: ImportedHashes;
}

type HolderRow = Pick<
  Selectable<Users>,
  "id" | "email" | "password_hash" | "status" | "role" | "login_failures" | "session_generation" | "deletion_due_at"
> & {
  locked: boolean;
  wait_seconds: number | null;
  second_factor: SqlBool;
};

type Nullable<T> = { [K in keyof T]: T[K] | null };

function holderFrom(row: Nullable<HolderRow>): PasswordHolder | undefined {
  const {
    id,
    email,
    password_hash,
    status,
    role,
    login_failures,
    session_generation,
    deletion_due_at,
    locked,
    wait_seconds,
    second_factor,
  } = row;
  if (id === null || email === null || password_hash === null || status === null || role === null || login_failures === null)
    return undefined;
  if (session_generation === null) return undefined;
  const waiting = locked ? "locked" : wait_seconds === null ? undefined : { seconds: wait_seconds };
  return {
    id,
    email,
    password_hash,
    status,
    role,
    login_failures,
    deletion_due_at,
    generation: session_generation,
    waiting,
    secondFactor: second_factor === true,
  };
}

/**
 * The password guard's read: the holder and, unless the account waits out its wrong passwords, this try
 * counted as one more before the password is checked (and the next try's wait set as if it were wrong), so
 * tries at once are held to the rule exactly as tries in a row. A right password ends the run in the statement
 * that acts on it (`endPasswordRun`). When this try was counted, `holder.login_failures` includes it and
 * `holder.waiting` is undefined; when the account was waiting, nothing was counted and `holder.waiting` says for
 * how long (at least a second).
 */
export async function chargePasswordTry(db: Db, key: PasswordHolderKey, now: Date, run: PasswordRunPolicy): Promise<HolderRead> {
  const statement = withSteps(
    db,
    holderRow.as((q) =>
      q
        .selectFrom("users")
        .select(holderColumns(now))
        .select((eb) =>
          eb
            .exists(
              eb
                .selectFrom("totp_factors as f")
                .select("f.user_id")
                .whereRef("f.user_id", "=", "users.id")
                .where("f.confirmed_at", "is not", null),
            )
            .as("second_factor"),
        )
        .where(holderKey(key)),
    ),
    charged.as(
      () =>
        new QueryRows(
          tables
            .updateTable("users")
            .set((eb) => ({
              login_failures: eb("login_failures", "+", 1),
              login_blocked_until: nextTryAfter(eb("login_failures", "+", 1), now, run),
            }))
            .where(holderKey(key))
            .where((eb) => eb.or([eb("login_blocked_until", "is", null), eb("login_blocked_until", "<=", now)]))
            .returning("login_failures"),
        ),
    ),
  );
  const row = await statement
    .selectFrom(importedHashesRemain(db))
    .leftJoin(holderRow.from().selectAll().as("holder"), (join) => join.onTrue())
    .leftJoin(charged.from().select("login_failures as charged_failures").as("charged"), (join) => join.onTrue())
    .selectAll("holder")
    .select(["flags.imported_remain", "charged.charged_failures"])
    .executeTakeFirstOrThrow();
  const holder = holderFrom(row);
  const imported = row.imported_remain ? "remain" : "none";
  if (!holder) return { holder, imported };
  if (row.charged_failures !== null) return { holder: { ...holder, login_failures: row.charged_failures, waiting: undefined }, imported };
  // another try made the account wait between this one's snapshot and its count
  return { holder: { ...holder, waiting: holder.waiting ?? { seconds: 1 } }, imported };
}

function holderKey(key: PasswordHolderKey) {
  return "email" in key
    ? (eb: ExpressionBuilder<DB, "users">) => eb("email", "=", key.email)
    : (eb: ExpressionBuilder<DB, "users">) => eb("id", "=", key.userId);
}

/** How a recorded failure leaves the account's run of wrong passwords. */
export type FailureCount =
  /** a wrong password (or a try refused while the account waits): counted already, when it was read */
  | "counted"
  /** the right password, refused for the account's state: the run is over */
  | "clear";

export interface PasswordFailure {
  userId: string;
  count: FailureCount;
  details: EventDetails;
  /** To the account, when this failure locks it (only the failure that does is given one). */
  lockNotice?: MailToQueue | undefined;
  run: PasswordRunPolicy;
  events: EventContext;
}

/** The account's run of wrong passwords, as this failure leaves it. */
function countFailure(failure: PasswordFailure): Step {
  const { userId, count } = failure;
  const columns = ["id", "email", "login_failures"] as const;
  if (count === "counted") return counted.as((q) => q.selectFrom("users").select(columns).where("id", "=", userId));
  return counted.as(
    () =>
      new QueryRows(
        tables.updateTable("users").set({ login_failures: 0, login_blocked_until: null }).where("id", "=", userId).returning(columns),
      ),
  );
}

/**
 * Records a failed password check of a known account with its event, in one statement (the run was counted
 * when the hash was read, or is cleared for a right password refused), and tells the account when this try
 * locked it.
 */
export async function recordPasswordFailure(db: Db, failure: PasswordFailure): Promise<QueuedMail | null> {
  const { lockNotice } = failure;
  const notice = queueMail(
    "notice",
    lockNotice && {
      recipients: () => counted.from().select("email as to_address").where("login_failures", ">=", failure.run.lockAt),
      mail: lockNotice,
    },
  );
  const row = await withSteps(
    db,
    countFailure(failure),
    notice.step,
    recordEvents(failure.events, {
      type: "login_failed",
      details: failure.details,
      rows: () => counted.from().select(["id as user_id", noRowDetails()]),
    }),
  )
    .selectNoFrom(() => [notice.queued().as("notice")])
    .executeTakeFirst();
  return row?.notice ?? null;
}

/** Ends the account's run of wrong passwords on its own: a right password that nothing went on to act on. */
export async function endPasswordRunNow(db: Db, userId: string): Promise<void> {
  await withSteps(db, endPasswordRun(userId))
    .selectNoFrom((eb) => eb.lit(1).as("done"))
    .execute();
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
  /** The session the change is made from: it must still be live, and the fresh session goes on from it. */
  sessionId: string;
  /** The hash the current password was checked against: if it changed since, nothing happens. */
  verifiedHash: string;
  newHash: string;
  /** Where the caller goes on: every session of the account ends, theirs too, and this one starts. */
  fresh: FreshSession;
  notice: MailToQueue;
  events: EventContext;
}

/**
 * The new password, if the one checked is still the stored one and the change comes from a session still live;
 * the run of wrong passwords ends with it (the right current password was counted in it).
 */
function setCheckedPassword(change: PasswordChange): Step {
  const { userId, sessionId, verifiedHash, newHash, events } = change;
  return changed.as(
    (q) =>
      new QueryRows(
        q
          .updateTable("users")
          .set((eb) => ({
            password_hash: newHash,
            updated_at: events.now,
            login_failures: 0,
            login_blocked_until: null,
            ...advanceGeneration(eb, events.now),
          }))
          .where("id", "=", userId)
          .where("password_hash", "=", verifiedHash)
          .where("status", "=", "verified")
          .where((eb) => eb.exists(eb.selectFrom("sessions").select("id").where("id", "=", sessionId).where("user_id", "=", userId)))
          .returning(["id", "email", "role", "session_generation"]),
      ),
  );
}

/** The account hears of a new password, without the password. */
function passwordNotice(notice: MailToQueue) {
  return queueMail("notice", { recipients: () => changed.from().select("email as to_address"), mail: notice });
}

/** The users whose password a statement changed, with the generation the change moved them to. */
const changedUsers = () => changed.from().select(["id", "session_generation"]);

/**
 * Sets a new password and ends every session of the account (its generation moves on), the caller's too,
 * starting the caller a fresh one in the same statement, after taking the account's row lock: a racing login
 * or rotation either came first and is ended, or comes after and sees the new password and generation. The
 * fresh session's standing is as the statement wrote it; undefined when nothing changed.
 */
export async function changePassword(
  db: Db,
  ender: SessionEnder,
  change: PasswordChange,
): Promise<{ standing: SessionStanding | undefined; notice: QueuedMail | null; endings: Endings }> {
  const ending = ender.endAllSessionsAdvancedBy(changedUsers);
  const notice = passwordNotice(change.notice);
  const statement = withSteps(
    db,
    setCheckedPassword(change),
    ending.step,
    openSessionFor(changedUsers, change.fresh, change.events.now),
    notice.step,
    recordEvents(change.events, {
      type: "password_changed",
      rows: () => changed.from().select(["id as user_id", noRowDetails()]),
    }),
  )
    .selectFrom(tables.selectNoFrom([notice.queued().as("notice"), ending.ended().as("ended")]).as("effects"))
    .leftJoin(openedStanding().as("standing"), (join) => join.onTrue())
    .selectAll();
  const [row] = await afterLockingUsers(db, { users: { ids: [change.userId] }, mode: "change" }, statement);
  return { standing: row && SessionStanding.fromRow(row), notice: row?.notice ?? null, endings: endingsFrom(row?.ended) };
}

export interface PasswordReset {
  matched: MatchedCode;
  passwordHash: string;
  /** To the account's address once the password is reset: no code in it. */
  notice: MailToQueue;
  events: EventContext;
}

/** The reset code, spent if still live, and the new password on its account. */
function spendAndReset(reset: PasswordReset): Step[] {
  const { matched, passwordHash, events } = reset;
  const now = events.now;
  return [
    consumed.as(
      (q) =>
        new QueryRows(
          q
            .updateTable("one_time_codes")
            .set({ consumed_at: now })
            .where("id", "=", matched.code_id)
            .where("consumed_at", "is", null)
            .returning("user_id"),
        ),
    ),
    changed.as(
      (q) =>
        new QueryRows(
          q
            .updateTable("users")
            .set((eb) => ({
              password_hash: passwordHash,
              // the code reached the address: it is proved
              status: eb.case().when("status", "=", "unverified").then(eb.val<UserStatus>("verified")).else(eb.ref("status")).end(),
              verified_at: eb.fn.coalesce("verified_at", eb.val(now)),
              login_failures: 0,
              login_blocked_until: null,
              updated_at: now,
              ...advanceGeneration(eb, now),
            }))
            .where("id", "in", consumed.from().select("user_id"))
            .returning(["id", "email", "role", "session_generation"]),
        ),
    ),
    // a proof of the address by another route: codes paused by a stranger's guesses work again
    unpaused.as(
      (q) =>
        new QueryRows(
          q
            .deleteFrom("code_failures")
            .where("address", "=", matched.address)
            .where((eb) => eb.exists(changedUsers()))
            .returning("address"),
        ),
    ),
  ];
}

const unpaused = cte<{ address: string }>()("unpaused");

/**
 * Resets a password with a right code (found by the emailed-code guard), in one transaction after taking the
 * account's row lock: spends the code, sets the new password, marks the address proved, clears the account's
 * wrong passwords and any pause of its codes, ends every session, queues a notice and records the event.
 * Nothing when the code was spent or replaced meanwhile.
 */
export async function resetPassword(
  db: Db,
  ender: SessionEnder,
  reset: PasswordReset,
): Promise<{ reset: boolean; notice: QueuedMail | null; endings: Endings }> {
  const ending = ender.endAllSessionsAdvancedBy(changedUsers);
  const notice = passwordNotice(reset.notice);
  const statement = withSteps(
    db,
    ...spendAndReset(reset),
    ending.step,
    notice.step,
    recordEvents(reset.events, {
      type: "password_reset_completed",
      rows: () => changed.from().select(["id as user_id", noRowDetails()]),
    }),
  ).selectNoFrom((eb) => [eb.exists(changedUsers()).as("reset"), notice.queued().as("notice"), ending.ended().as("ended")]);
  const [row] = await afterLockingUsers(db, { users: { ids: [reset.matched.user_id] }, mode: "change" }, statement);
  return { reset: row?.reset === true, notice: row?.notice ?? null, endings: endingsFrom(row?.ended) };
}
