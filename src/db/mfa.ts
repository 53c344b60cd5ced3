// The second factor: a TOTP factor (pending until its first code confirms it), its recovery codes, and the run
// of wrong codes, as for emailed codes. Using it (a login's challenge, step-up) is in mfa-challenges.ts.
import { type Expression, sql, type SqlBool } from "kysely";
import type { UserRole } from "../schemas/user.ts";
import { type Actor, actorStands } from "./actor.ts";
import type { Db } from "./client.ts";
import { type EventContext, type EventDetails, noRowDetails, recordEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { partBuilder, QueryRows, type Step, withSteps } from "./parts.ts";
import { advanceGeneration, type Endings, endingsFrom, type SessionEnder } from "./revocations.ts";
import { type FreshSession, openSessionFor } from "./sessions.ts";
import { afterLockingUsers } from "./user-lock.ts";

const mfaParts = partBuilder<{
  confirmed: { user_id: string };
  counted: { user_id: string; failures: number };
  advanced: { id: string; email: string; role: UserRole; session_generation: number };
  removed: { user_id: string; email: string };
}>();

/** A user's TOTP factor as a check needs it. */
export interface Factor {
  userId: string;
  email: string;
  secretSealed: string;
  confirmed: boolean;
  /** The time step of the last code accepted: a code is accepted once. */
  lastStep: number | undefined;
  /** Whether wrong codes paused the factor now. */
  paused: boolean;
}

export const FACTOR_COLUMNS = (now: Date) =>
  [
    "f.user_id",
    "u.email",
    "f.secret_sealed",
    "f.confirmed_at",
    sql<string | null>`f.last_step::text`.as("last_step"),
    sql<boolean>`coalesce(f.paused_until > ${now}::timestamptz, false)`.as("paused"),
  ] as const;

export function factorFrom(row: {
  user_id: string;
  email: string;
  secret_sealed: string;
  confirmed_at: Date | null;
  last_step: string | null;
  paused: boolean;
}): Factor {
  return {
    userId: row.user_id,
    email: row.email,
    secretSealed: row.secret_sealed,
    confirmed: row.confirmed_at !== null,
    lastStep: row.last_step === null ? undefined : Number(row.last_step),
    paused: row.paused,
  };
}

/** The user's factor, pending or confirmed, if there is one. */
export async function findFactor(db: Db, userId: string, now: Date): Promise<Factor | undefined> {
  const row = await db
    .selectFrom("totp_factors as f")
    .innerJoin("users as u", "u.id", "f.user_id")
    .select(FACTOR_COLUMNS(now))
    .where("f.user_id", "=", userId)
    .executeTakeFirst();
  return row && factorFrom(row);
}

/**
 * Starts (or starts again) the enrolment of a TOTP factor with this sealed secret, unless one is confirmed
 * already. Returns the user's address (for the authenticator's label), or why nothing started.
 */
export async function startEnrolment(
  db: Db,
  enrolment: { userId: string; secretSealed: string; now: Date },
): Promise<{ started: true; email: string } | { started: false; reason: "already_enabled" | "user_gone" }> {
  const { userId, secretSealed, now } = enrolment;
  const row = await db
    .with("pending", (q) =>
      q
        .insertInto("totp_factors")
        .values({ user_id: userId, secret_sealed: secretSealed, created_at: now })
        .onConflict((oc) =>
          oc
            .column("user_id")
            .doUpdateSet({ secret_sealed: secretSealed, created_at: now, last_step: null, failures: 0, paused_until: null })
            .where("totp_factors.confirmed_at", "is", null),
        )
        .returning("user_id"),
    )
    .selectFrom("users")
    .select((eb) => ["email", eb.exists(eb.selectFrom("pending").select("user_id")).as("started")])
    .where("id", "=", userId)
    .executeTakeFirst();
  if (!row) return { started: false, reason: "user_gone" };
  return row.started ? { started: true, email: row.email } : { started: false, reason: "already_enabled" };
}

/** What a wrong second-factor code does: counted, and from `pauseAfter` on each pauses the factor again. */
export interface FactorFailure {
  userId: string;
  pauseAfter: number;
  pausedUntil: Date;
  /** To the owner when this code starts the pause. */
  pauseNotice: MailToQueue;
  details: EventDetails;
  events: EventContext;
}

/**
 * Counts a wrong code against the user's run, recorded with its event, in one statement. The code that
 * starts a pause tells the owner (and is recorded as `codes_paused`); returns that notice, if queued.
 */
export async function recordFactorFailure(db: Db, failure: FactorFailure): Promise<QueuedMail | null> {
  const { userId, pauseAfter, pausedUntil, details, events } = failure;
  const pausedNow = () =>
    mfaParts.selectFrom("users").where("id", "in", mfaParts.selectFrom("counted").select("user_id").where("failures", "=", pauseAfter));
  const notice = queueMail("notice", { recipients: () => pausedNow().select("email as to_address"), mail: failure.pauseNotice });
  const row = await withSteps(
    db,
    (statement) =>
      statement.with("counted", (q) =>
        q
          .updateTable("totp_factors")
          .set((eb) => ({
            failures: eb("failures", "+", 1),
            paused_until: eb
              .case()
              .when(eb("failures", "+", 1), ">=", pauseAfter)
              .then(eb.val<Date | null>(pausedUntil))
              .else(eb.ref("paused_until"))
              .end(),
          }))
          .where("user_id", "=", userId)
          .returning(["user_id", "failures"]),
      ),
    notice.step,
    recordEvents(events, {
      type: "mfa_failed",
      details,
      rows: () => mfaParts.selectFrom("users").select(["id as user_id", noRowDetails()]).where("id", "=", userId),
    }),
    recordEvents(events, {
      type: "codes_paused",
      details: { scope: "totp" },
      rows: () => pausedNow().select(["id as user_id", noRowDetails()]),
    }),
  )
    .selectNoFrom(() => notice.queued().as("notice"))
    .executeTakeFirstOrThrow();
  return row.notice;
}

export interface FactorConfirmation {
  userId: string;
  /** The secret the code was checked against: a factor enrolled again meanwhile is not confirmed by it. */
  secretSealed: string;
  step: number;
  recoveryHashes: Uint8Array[];
  /** The session the user goes on in: every other one ends, so every live session of a user with a factor was made with it. */
  fresh: FreshSession;
  notice: MailToQueue;
  events: EventContext;
}

/** Ten new recovery codes for the confirmed factor's user, replacing any earlier ones. */
function replaceRecoveryCodes(hashes: Uint8Array[], now: Date): Step {
  const confirmedUser = () => mfaParts.selectFrom("confirmed").select("user_id");
  const rows = sql<{
    code_hash: Uint8Array;
  }>`(select * from (values ${sql.join(hashes.map((hash) => sql`(${hash}::bytea)`))}) as v(code_hash))`;
  return (statement) =>
    statement
      .with(
        "old_codes",
        () => new QueryRows(mfaParts.deleteFrom("recovery_codes").where("user_id", "in", confirmedUser()).returning("code_hash")),
      )
      .with(
        "new_codes",
        () =>
          new QueryRows(
            mfaParts
              .insertInto("recovery_codes")
              .columns(["code_hash", "user_id", "created_at"])
              .expression((eb) =>
                eb
                  .selectFrom(rows.as("codes"))
                  .innerJoin("confirmed", (join) => join.onTrue())
                  .select((eb) => ["codes.code_hash", "confirmed.user_id", eb.val(now).as("created_at")]),
              )
              .returning("code_hash"),
          ),
      );
}

/**
 * Turns the factor on with its first right code, in one transaction after taking the user's row lock: the
 * factor confirmed (that code spent), ten recovery codes stored as HMACs, every session of the user ended and
 * a fresh one started with both factors, the owner told, the event recorded. Nothing when the factor was
 * enrolled again, or confirmed, meanwhile.
 */
export async function confirmFactor(
  db: Db,
  ender: SessionEnder,
  confirmation: FactorConfirmation,
): Promise<{ confirmed: { role: UserRole; generation: number } | undefined; notice: QueuedMail | null; endings: Endings }> {
  const { userId, secretSealed, step, recoveryHashes, fresh, events } = confirmation;
  const now = events.now;
  const advance: Step = (statement) =>
    statement.with("advanced", (q) =>
      q
        .updateTable("users")
        .set((eb) => advanceGeneration(eb, now))
        .where("id", "in", mfaParts.selectFrom("confirmed").select("user_id"))
        .returning(["id", "email", "role", "session_generation"]),
    );
  const ending = ender.endAllSessionsAdvancedBy(advance);
  const notice = queueMail("notice", {
    recipients: () => mfaParts.selectFrom("advanced").select("email as to_address"),
    mail: confirmation.notice,
  });
  const statement = withSteps(
    db,
    (statement) =>
      statement.with("confirmed", (q) =>
        q
          .updateTable("totp_factors")
          .set({ confirmed_at: now, last_step: String(step), failures: 0, paused_until: null })
          .where("user_id", "=", userId)
          .where("confirmed_at", "is", null)
          .where("secret_sealed", "=", secretSealed)
          .returning("user_id"),
      ),
    replaceRecoveryCodes(recoveryHashes, now),
    ending.step,
    openSessionFor(() => mfaParts.selectFrom("advanced").select("id"), fresh, now),
    notice.step,
    recordEvents(events, {
      type: "mfa_enabled",
      details: { method: "totp" },
      rows: () => mfaParts.selectFrom("confirmed").select(["user_id", noRowDetails()]),
    }),
  )
    .selectFrom(mfaParts.selectNoFrom([notice.queued().as("notice"), ending.ended().as("ended")]).as("effects"))
    .leftJoin(mfaParts.selectFrom("advanced").select(["role", "session_generation"]).as("advanced"), (join) => join.onTrue())
    .selectAll();
  const [row] = await afterLockingUsers(db, { users: { ids: [userId] }, mode: "change" }, statement);
  const confirmed =
    row && row.role !== null && row.session_generation !== null ? { role: row.role, generation: row.session_generation } : undefined;
  return { confirmed, notice: row?.notice ?? null, endings: endingsFrom(row?.ended) };
}

/** The user's factor and recovery codes, gone, while the actor stands (a user's own choice, or an admin's reset). */
function removeFactor(userId: string, allowed: Expression<SqlBool>): Step {
  return (statement) =>
    statement
      .with("removed", (q) =>
        q
          .deleteFrom("totp_factors")
          .using("users")
          .whereRef("users.id", "=", "totp_factors.user_id")
          .where("totp_factors.user_id", "=", userId)
          .where(allowed)
          .returning(["totp_factors.user_id", "users.email"]),
      )
      .with(
        "codes_removed",
        () =>
          new QueryRows(
            mfaParts
              .deleteFrom("recovery_codes")
              .where("user_id", "in", mfaParts.selectFrom("removed").select("user_id"))
              .returning("code_hash"),
          ),
      );
}

/** Turns an active user's own factor off (their password and a current code checked before), telling them. */
export async function disableFactor(
  db: Db,
  request: { userId: string; notice: MailToQueue; events: EventContext },
): Promise<{ disabled: boolean; notice: QueuedMail | null }> {
  const { userId, events } = request;
  const removed = () => mfaParts.selectFrom("removed");
  const notice = queueMail("notice", { recipients: () => removed().select("email as to_address"), mail: request.notice });
  const row = await withSteps(
    db,
    removeFactor(userId, actorStands({ id: userId, needs: "user" })),
    notice.step,
    recordEvents(events, { type: "mfa_disabled", rows: () => removed().select(["user_id", noRowDetails()]) }),
  )
    .selectNoFrom((eb) => [eb.exists(removed().select("user_id")).as("disabled"), notice.queued().as("notice")])
    .executeTakeFirstOrThrow();
  return { disabled: row.disabled === true, notice: row.notice };
}

/**
 * An admin's reset of a user's second factor (they lost their device), while the admin is still one: the
 * factor and its recovery codes go, every session of the user ends, the user is told, the event recorded.
 */
export async function resetFactor(
  db: Db,
  ender: SessionEnder,
  request: { userId: string; actor: Actor; notice: MailToQueue; events: EventContext },
): Promise<{ outcome: "reset" | "not_enabled" | "forbidden"; notice: QueuedMail | null; endings: Endings }> {
  const { userId, actor, events } = request;
  const allowed = actorStands(actor);
  const removed = () => mfaParts.selectFrom("removed");
  const ending = ender.endAllSessionsOf(() => removed().select("user_id"));
  const notice = queueMail("notice", { recipients: () => removed().select("email as to_address"), mail: request.notice });
  const statement = withSteps(
    db,
    removeFactor(userId, allowed),
    ending.step,
    notice.step,
    recordEvents(events, { type: "mfa_reset", details: { by: "admin" }, rows: () => removed().select(["user_id", noRowDetails()]) }),
  ).selectNoFrom((eb) => [
    eb.exists(removed().select("user_id")).as("reset"),
    allowed.as("allowed"),
    notice.queued().as("notice"),
    ending.ended().as("ended"),
  ]);
  const [row] = await afterLockingUsers(db, { users: { ids: [userId, actor.id] }, mode: "change" }, statement);
  const outcome = row?.allowed !== true ? "forbidden" : row.reset === true ? "reset" : "not_enabled";
  return { outcome, notice: row?.notice ?? null, endings: endingsFrom(row?.ended) };
}
