// Every read and write of a password hash: the check's read (a try counted as it is read), the record of a
// wrong one, the upgrade of an old hash, a change with the current password, and a reset with a code.
import { type Expression, type Selectable, sql } from "kysely";
import type { ImportedHashes } from "../auth/passwords.ts";
import type { UserStatus } from "../schemas/user.ts";
import type { Db } from "./client.ts";
import type { MatchedCode } from "./codes.ts";
import { type EventContext, type EventDetails, noRowDetails, recordEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { partBuilder, QueryRows, type Step, withSteps } from "./parts.ts";
import { advanceGeneration, type Endings, endingsFrom, type SessionEnder } from "./revocations.ts";
import { type FreshSession, openSessionFor } from "./sessions.ts";
import type { Users } from "./schema.ts";
import { afterLockingUsers } from "./user-lock.ts";

/**
 * Wrong passwords in a row, per account (NIST SP 800-63B §5.2.2): the first few cost nothing, then each try
 * waits twice as long as the one before, up to an hour; after the hundredth only a reset opens the account.
 */
export const PASSWORD_FAILURES = { free: 4, maxWaitSeconds: 60 * 60, lockAt: 100 } as const;

/** The account a password is checked against, and its run of wrong passwords. */
export type PasswordHolder = Pick<Selectable<Users>, "id" | "email" | "password_hash" | "status" | "role" | "login_failures"> & {
  /** The account's session generation: a login's challenge is bound to it. */
  generation: number;
  /** Whether the account waits out its wrong passwords now: for some seconds, or until a reset (locked). */
  waiting: { seconds: number } | "locked" | undefined;
  /** Whether a second factor is on: the right password then answers a challenge, not a session. */
  secondFactor: boolean;
};

type ChangedUser = Pick<Selectable<Users>, "id" | "email" | "role" | "session_generation">;

const passwordParts = partBuilder<{
  charged: { login_failures: number };
  counted: { id: string; email: string; login_failures: number };
  changed: ChangedUser;
  consumed: { user_id: string };
}>();

/**
 * When the next try may come, after the try that made `failures` wrong ones in a row: at once for the first
 * few, then after 1, 2, 4 … seconds up to an hour, and never after the hundredth (a reset clears it).
 */
function nextTryAfter(failures: Expression<number>, now: Date) {
  const { free, maxWaitSeconds, lockAt } = PASSWORD_FAILURES;
  return sql<Date | null>`case when ${failures} >= ${lockAt} then 'infinity'::timestamptz
    when ${failures} > ${free} then ${now}::timestamptz + least(power(2, ${failures} - ${free} - 1), ${maxWaitSeconds}) * interval '1 second'
    end`;
}

/** Whether imported bcrypt hashes remain anywhere, by the partial index that holds only them. */
function importedHashesRemain(db: Db) {
  return db
    .selectNoFrom((eb) =>
      eb.exists(eb.selectFrom("users").select("id").where("password_hash", "like", sql.lit("$2%"))).as("imported_remain"),
    )
    .as("flags");
}

/** A holder's columns, with how long it waits now worked out in SQL (a lock's 'infinity' never leaves the database). */
function holderColumns(now: Date) {
  return [
    "id",
    "email",
    "password_hash",
    "status",
    "role",
    "login_failures",
    "session_generation",
    sql<boolean>`coalesce(login_blocked_until = 'infinity'::timestamptz, false)`.as("locked"),
    sql<number | null>`case when login_blocked_until > ${now}::timestamptz and login_blocked_until < 'infinity'::timestamptz
      then ceil(extract(epoch from login_blocked_until - ${now}::timestamptz))::integer end`.as("wait_seconds"),
    sql<boolean>`exists (select 1 from totp_factors where totp_factors.user_id = users.id and totp_factors.confirmed_at is not null)`.as(
      "second_factor",
    ),
  ] as const;
}

/** What reading a password holder yields: the holder, if there is one, and whether imported hashes remain. */
export interface HolderRead {
  holder: PasswordHolder | undefined;
  imported: ImportedHashes;
}

type HolderRow = { [K in "id" | "email" | "password_hash" | "status" | "role" | "login_failures"]: PasswordHolder[K] | null } & {
  session_generation: number | null;
  locked: boolean | null;
  wait_seconds: number | null;
  second_factor: boolean | null;
};

function holderFrom(row: HolderRow): PasswordHolder | undefined {
  const { id, email, password_hash, status, role, login_failures, session_generation, locked, wait_seconds, second_factor } = row;
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
    generation: session_generation,
    waiting,
    secondFactor: second_factor === true,
  };
}

/**
 * A login's read: the holder of the address and, unless the account waits out its wrong passwords, this try
 * counted as one more before the password is checked (and the next try's wait set as if it were wrong), so
 * tries at once are held to the rule exactly. A right password clears the count when its session is written.
 * When this try was counted, `holder.login_failures` includes it and `holder.waiting` is undefined; when the
 * account was waiting, nothing was counted and `holder.waiting` says for how long (at least a second).
 */
export async function chargePasswordTry(db: Db, email: string, now: Date): Promise<HolderRead> {
  const row = await db
    .with("holder", (q) => q.selectFrom("users").select(holderColumns(now)).where("email", "=", email))
    .with("charged", (q) =>
      q
        .updateTable("users")
        .set((eb) => ({
          login_failures: eb("login_failures", "+", 1),
          login_blocked_until: nextTryAfter(eb("login_failures", "+", 1), now),
        }))
        .where("email", "=", email)
        .where((eb) => eb.or([eb("login_blocked_until", "is", null), eb("login_blocked_until", "<=", now)]))
        .returning("login_failures"),
    )
    .selectFrom(importedHashesRemain(db))
    .leftJoin("holder", (join) => join.onTrue())
    .leftJoin("charged", (join) => join.onTrue())
    .selectAll("holder")
    .select(["flags.imported_remain", "charged.login_failures as charged_failures"])
    .executeTakeFirstOrThrow();
  const holder = holderFrom(row);
  const imported = row.imported_remain ? "remain" : "none";
  if (!holder) return { holder, imported };
  if (row.charged_failures !== null) return { holder: { ...holder, login_failures: row.charged_failures, waiting: undefined }, imported };
  // another try made the account wait between this one's snapshot and its count
  return { holder: { ...holder, waiting: holder.waiting ?? { seconds: 1 } }, imported };
}

/** A re-authentication's read: the holder by id, and whether imported hashes remain; nothing is counted yet. */
export async function findPasswordHolder(db: Db, userId: string, now: Date): Promise<HolderRead> {
  const row = await db
    .with("holder", (q) => q.selectFrom("users").select(holderColumns(now)).where("id", "=", userId))
    .selectFrom(importedHashesRemain(db))
    .leftJoin("holder", (join) => join.onTrue())
    .selectAll("holder")
    .select("flags.imported_remain")
    .executeTakeFirstOrThrow();
  return { holder: holderFrom(row), imported: row.imported_remain ? "remain" : "none" };
}

/** How a recorded failure changes the account's run of wrong passwords. */
export type FailureCount =
  /** a wrong password not counted yet (a re-authentication): one more */
  | "add"
  /** a wrong password already counted when it was read (a login) */
  | "counted"
  /** the right password, refused for the account's state: the run is over */
  | "clear";

export interface PasswordFailure {
  userId: string;
  count: FailureCount;
  details: EventDetails;
  /** To the account, when this failure locks it (only a failure that can is given one). */
  lockNotice?: MailToQueue | undefined;
  events: EventContext;
}

/** The account's run of wrong passwords, as this failure leaves it. */
function countFailure(failure: PasswordFailure): Step {
  const { userId, count, events } = failure;
  const columns = ["id", "email", "login_failures"] as const;
  if (count === "counted")
    return (statement) => statement.with("counted", (q) => q.selectFrom("users").select(columns).where("id", "=", userId));
  const update = passwordParts.updateTable("users").where("id", "=", userId);
  const changed =
    count === "add"
      ? update.set((eb) => ({
          login_failures: eb("login_failures", "+", 1),
          login_blocked_until: nextTryAfter(eb("login_failures", "+", 1), events.now),
        }))
      : update.set({ login_failures: 0, login_blocked_until: null });
  return (statement) => statement.with("counted", () => new QueryRows(changed.returning(columns)));
}

/**
 * Records a failed password check of a known account with its event, in one statement: the wrong password
 * counted (or the run cleared, for a right one refused), and the account told when this one locked it.
 */
export async function recordPasswordFailure(db: Db, failure: PasswordFailure): Promise<QueuedMail | null> {
  const counted = () => passwordParts.selectFrom("counted");
  const { lockNotice } = failure;
  const notice = queueMail(
    "notice",
    lockNotice && {
      recipients: () => counted().select("email as to_address").where("login_failures", "=", PASSWORD_FAILURES.lockAt),
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
      rows: () => counted().select(["id as user_id", noRowDetails()]),
    }),
  )
    .selectNoFrom(() => [notice.queued().as("notice")])
    .executeTakeFirst();
  return row?.notice ?? null;
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
  /** The session the change is made from: it must still be live. */
  sessionId: string;
  /** The hash the current password was checked against: if it changed since, nothing happens. */
  verifiedHash: string;
  newHash: string;
  /** Where the caller goes on: every session of the account ends, theirs too, and this one starts. */
  fresh: FreshSession;
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
    );
}

/** The account hears of a new password, without the password. */
function passwordNotice(notice: MailToQueue) {
  return queueMail("notice", { recipients: () => passwordParts.selectFrom("changed").select("email as to_address"), mail: notice });
}

/** The users whose password a statement changed. */
const changedUsers = () => passwordParts.selectFrom("changed").select("id");

/** A new password ends every session: the change's own update moved the generation on. */
const advancedByChange: Step = (statement) =>
  statement.with("advanced", () => passwordParts.selectFrom("changed").select(["id", "session_generation"]));

/**
 * Sets a new password and ends every session of the account (its generation moves on), the caller's too,
 * starting the caller a fresh one in the same statement, after taking the account's row lock: a racing login
 * or rotation either came first and is ended, or comes after and sees the new password and generation.
 */
export async function changePassword(
  db: Db,
  ender: SessionEnder,
  change: PasswordChange,
): Promise<{ changed: { role: ChangedUser["role"]; generation: number } | undefined; notice: QueuedMail | null; endings: Endings }> {
  const ending = ender.endAllSessionsAdvancedBy(advancedByChange);
  const notice = passwordNotice(change.notice);
  const statement = withSteps(
    db,
    setCheckedPassword(change),
    ending.step,
    openSessionFor(changedUsers, change.fresh, change.events.now),
    notice.step,
    recordEvents(change.events, {
      type: "password_changed",
      rows: () => passwordParts.selectFrom("changed").select(["id as user_id", noRowDetails()]),
    }),
  )
    .selectFrom(passwordParts.selectNoFrom([notice.queued().as("notice"), ending.ended().as("ended")]).as("effects"))
    .leftJoin(passwordParts.selectFrom("changed").select(["role", "session_generation"]).as("changed"), (join) => join.onTrue())
    .selectAll();
  const [row] = await afterLockingUsers(db, { users: { ids: [change.userId] }, mode: "change" }, statement);
  const changed =
    row && row.role !== null && row.session_generation !== null ? { role: row.role, generation: row.session_generation + 1 } : undefined;
  return { changed, notice: row?.notice ?? null, endings: endingsFrom(row?.ended) };
}

export interface PasswordReset {
  matched: MatchedCode;
  passwordHash: string;
  /** To the account's address once the password is reset: no code in it. */
  notice: MailToQueue;
  events: EventContext;
}

/** The reset code, spent if still live, and the new password on its account. */
function spendAndReset(reset: PasswordReset): Step {
  const { matched, passwordHash, events } = reset;
  const now = events.now;
  return (statement) =>
    statement
      .with("consumed", (q) =>
        q
          .updateTable("one_time_codes")
          .set({ consumed_at: now })
          .where("id", "=", matched.code_id)
          .where("consumed_at", "is", null)
          .returning("user_id"),
      )
      .with("changed", (q) =>
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
          .where("id", "in", passwordParts.selectFrom("consumed").select("user_id"))
          .returning(["id", "email", "role", "session_generation"]),
      )
      // a proof of the address by another route: codes paused by a stranger's guesses work again
      .with("unpaused", (q) =>
        q
          .deleteFrom("code_failures")
          .where("address", "=", matched.address)
          .where((eb) => eb.exists(changedUsers()))
          .returning("address"),
      );
}

/**
 * Resets a password with a right code (found by `checkCode`), in one transaction after taking the account's
 * row lock: spends the code, sets the new password, marks the address proved, clears the account's wrong
 * passwords and any pause of its codes, ends every session, queues a notice and records the event. Nothing
 * when the code was spent or replaced meanwhile.
 */
export async function resetPassword(
  db: Db,
  ender: SessionEnder,
  reset: PasswordReset,
): Promise<{ reset: boolean; notice: QueuedMail | null; endings: Endings }> {
  const ending = ender.endAllSessionsAdvancedBy(advancedByChange);
  const notice = passwordNotice(reset.notice);
  const statement = withSteps(
    db,
    spendAndReset(reset),
    ending.step,
    notice.step,
    recordEvents(reset.events, {
      type: "password_reset_completed",
      rows: () => passwordParts.selectFrom("changed").select(["id as user_id", noRowDetails()]),
    }),
  ).selectNoFrom((eb) => [eb.exists(changedUsers()).as("reset"), notice.queued().as("notice"), ending.ended().as("ended")]);
  const [row] = await afterLockingUsers(db, { users: { ids: [reset.matched.user_id] }, mode: "change" }, statement);
  return { reset: row?.reset === true, notice: row?.notice ?? null, endings: endingsFrom(row?.ended) };
}
