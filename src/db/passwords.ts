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
import { chargeDeviceTry, type DeviceOfTry, deviceOfTry, deviceRunColumns, forgetDevicesOf, readDeviceOfTry } from "./devices.ts";
import { endPasswordRun, nextTryAfter, type PasswordRun, runColumns } from "./password-run.ts";
import { advanceGeneration, type Endings, endingsFrom, type SessionEnder } from "./revocations.ts";
import { type FreshSession, openedStanding, openSessionFor, SessionStanding } from "./sessions.ts";
import type { DB, Users } from "./schema.ts";
import { afterLockingUsers } from "./user-lock.ts";

/** The account a password is checked against, and the run of wrong passwords its try met. */
export type PasswordHolder = Pick<Selectable<Users>, "id" | "email" | "password_hash" | "status" | "role" | "deletion_due_at"> & {
  /** The account's session generation: a login's challenge is bound to it. */
  generation: number;
  /** Whose run the try met: the account's, or a known device's (then failures from elsewhere never reach it). */
  run: PasswordRun;
  /** The run's wrong passwords in a row, this try counted in them (when it was). */
  login_failures: number;
  /** Whether the run waits now: for some seconds, or until a reset (locked). */
  waiting: { seconds: number } | "locked" | undefined;
  /** Whether a second factor is on: the right password then answers a challenge, not a session. */
  secondFactor: boolean;
};

/**
 * Whose password is checked: a sign-in names the address (and presents the device token it holds, if any); a
 * signed-in caller is their id, and their tries meet the run of their session's device.
 */
export type PasswordHolderKey = { email: string; deviceTokenHash: Uint8Array | undefined } | { userId: string; sessionId: string };

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

/** The read's row: the account with its run, the known device with its run, and the try's count in whichever it met. */
type ReadRow = Nullable<HolderRow> & {
  charged_failures: number | null;
  device_id: string | null;
  device_failures: number | null;
  device_locked: boolean | null;
  device_wait_seconds: number | null;
  device_charged: number | null;
};

/** Where a run stands after this try: counted (not waiting), or waiting (at least a second: another try made it wait). */
function runAfterTry(counted: number | null, failures: number, locked: boolean | null, waitSeconds: number | null) {
  if (counted !== null) return { login_failures: counted, waiting: undefined };
  const waiting = locked ? ("locked" as const) : { seconds: waitSeconds ?? 1 };
  return { login_failures: failures, waiting };
}

function holderFrom(row: ReadRow): PasswordHolder | undefined {
  const { id, email, password_hash, status, role, login_failures, session_generation, deletion_due_at, second_factor } = row;
  if (id === null || email === null || status === null || role === null || login_failures === null) return undefined;
  if (session_generation === null) return undefined;
  const deviceId = row.device_id ?? undefined;
  const run =
    deviceId === undefined
      ? runAfterTry(row.charged_failures, login_failures, row.locked, row.wait_seconds)
      : runAfterTry(row.device_charged, row.device_failures ?? 0, row.device_locked, row.device_wait_seconds);
  return {
    id,
    email,
    password_hash,
    status,
    role,
    deletion_due_at,
    generation: session_generation,
    run: { userId: id, deviceId },
    ...run,
    secondFactor: second_factor === true,
  };
}

/** The account's columns for the read: its run, and whether a second factor is on. */
function holderStep(key: PasswordHolderKey, now: Date): Step {
  return holderRow.as((q) =>
    q
      .selectFrom("users")
      .select(["id", "email", "password_hash", "status", "role", "session_generation", "deletion_due_at", ...runColumns(now)])
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
  );
}

/** The account's run, with this try counted before it is judged, when the try comes from no known device. */
function chargeAccountTry(key: PasswordHolderKey, now: Date, run: PasswordRunPolicy): Step {
  return charged.as(
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
          .where((eb) => eb.not(eb.exists(deviceOfTry.from().select("id"))))
          .returning("login_failures"),
      ),
  );
}

/**
 * The password guard's read, in one statement: the holder and, unless its run waits, this try counted as one more
 * wrong password before the password is checked (and the next try's wait set as if it were wrong), so tries at once
 * are held to the rule exactly as tries in a row. The run is a known device's when the try comes from one of the
 * account's (a sign-in's device token, or a signed-in caller's session), else the account's. A right password ends
 * the run in the statement that acts on it (`endPasswordRun`). When this try was counted, `holder.login_failures`
 * includes it and `holder.waiting` is undefined; when the run was waiting, nothing was counted.
 */
export async function chargePasswordTry(
  db: Db,
  request: { key: PasswordHolderKey; run: PasswordRunPolicy; events: EventContext },
): Promise<HolderRead> {
  const { key, run, events } = request;
  const now = events.now;
  const device: DeviceOfTry = "sessionId" in key ? { sessionId: key.sessionId } : key.deviceTokenHash && { tokenHash: key.deviceTokenHash };
  const row = await withSteps(
    db,
    holderStep(key, now),
    ...readDeviceOfTry(device, () => holderRow.from().select("id"), events),
    chargeAccountTry(key, now, run),
    chargeDeviceTry(now, run),
  )
    .selectFrom(importedHashesRemain(db))
    .leftJoin(holderRow.from().selectAll().as("holder"), (join) => join.onTrue())
    .leftJoin(charged.from().select("login_failures as charged_failures").as("charged"), (join) => join.onTrue())
    .leftJoin(deviceRunColumns().as("device"), (join) => join.onTrue())
    .selectAll("holder")
    .select(["flags.imported_remain", "charged.charged_failures"])
    .select(["device.device_id", "device.device_failures", "device.device_locked", "device.device_wait_seconds", "device.device_charged"])
    .executeTakeFirstOrThrow();
  return { holder: holderFrom(row), imported: row.imported_remain ? "remain" : "none" };
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
  /** The run the try met (a right password refused ends it). */
  run: PasswordRun;
  count: FailureCount;
  details: EventDetails;
  /** To the account, when this failure locks it (only the failure that does is given one). */
  lockNotice?: MailToQueue | undefined;
  policy: PasswordRunPolicy;
  events: EventContext;
}

/** The account as this failure leaves it (a right password refused ends the run it met, the account's or a device's). */
function countFailure(failure: PasswordFailure): Step[] {
  const account = counted.as((q) => q.selectFrom("users").select(["id", "email", "login_failures"]).where("id", "=", failure.userId));
  return failure.count === "clear" ? [endPasswordRun(failure.run), account] : [account];
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
      recipients: () => counted.from().select("email as to_address").where("login_failures", ">=", failure.policy.lockAt),
      mail: lockNotice,
    },
  );
  const row = await withSteps(
    db,
    ...countFailure(failure),
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

/** Ends a run of wrong passwords on its own: a right password that nothing went on to act on. */
export async function endPasswordRunNow(db: Db, run: PasswordRun): Promise<void> {
  await withSteps(db, endPasswordRun(run))
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
  /** The run the current password's try was counted in: a device's ends beside the account's (which the change clears). */
  run: PasswordRun;
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
    change.run.deviceId !== undefined && endPasswordRun(change.run),
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
    // a reset is the way back from a known password: no device keeps its standing
    forgetDevicesOf(() => changed.from().select("id")),
    notice.step,
    recordEvents(reset.events, {
      type: "password_reset_completed",
      rows: () => changed.from().select(["id as user_id", noRowDetails()]),
    }),
  ).selectNoFrom((eb) => [eb.exists(changedUsers()).as("reset"), notice.queued().as("notice"), ending.ended().as("ended")]);
  const [row] = await afterLockingUsers(db, { users: { ids: [reset.matched.user_id] }, mode: "change" }, statement);
  return { reset: row?.reset === true, notice: row?.notice ?? null, endings: endingsFrom(row?.ended) };
}
