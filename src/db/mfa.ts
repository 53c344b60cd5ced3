// The second factor: a TOTP factor (pending until its first code confirms it), its recovery codes, and the run of
// wrong codes (POLICY.codeRun), counted as each try's factor is read. Using it for a login is in mfa-challenges.ts.
import { type AliasableExpression, type Expression, type OperandExpression, type QueryCreator, sql, type SqlBool } from "kysely";
import type { CodeRunPolicy } from "../policy.ts";
import { type Actor, actorStands } from "./actor.ts";
import type { Db } from "./client.ts";
import { type EventContext, type EventDetails, noRowDetails, recordEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { cte, QueryRows, type Step, tables, withSteps } from "./parts.ts";
import { endPasswordRun, type PasswordRun } from "./password-run.ts";
import { advanced, advanceGeneration, type Endings, endingsFrom, type SessionEnder } from "./revocations.ts";
import type { DB } from "./schema.ts";
import { type FreshSession, openedStanding, openSessionFor, SessionStanding } from "./sessions.ts";
import { afterLockingUsers } from "./user-lock.ts";

/** A user's TOTP factor as a check needs it. */
export interface Factor {
  userId: string;
  email: string;
  secretSealed: string;
  confirmed: boolean;
  /** The time step of the last code accepted: a code is accepted once. */
  lastStep: number | undefined;
}

/** A factor's columns, read with its user (`f`, `u`). */
export const FACTOR_COLUMNS = ["f.user_id", "u.email", "f.secret_sealed", "f.confirmed_at", "f.last_step"] as const;

export interface FactorRow {
  user_id: string;
  email: string;
  secret_sealed: string;
  confirmed_at: Date | null;
  last_step: string | null;
}

export function factorFrom(row: FactorRow): Factor {
  return {
    userId: row.user_id,
    email: row.email,
    secretSealed: row.secret_sealed,
    confirmed: row.confirmed_at !== null,
    lastStep: row.last_step === null ? undefined : Number(row.last_step),
  };
}

/** What a try at the factor's codes meets when its factor is read: its run with this try, or a pause. */
export interface FactorTry {
  factor: Factor;
  /** The run of wrong codes with this try counted in it; undefined when the factor is paused (the try is not judged). */
  run: number | undefined;
}

/** The run of wrong codes, as a try's read counts it. */
const charged = cte<{ user_id: string; failures: number }>()("factor_charged");

/**
 * The factor guard's count: the try at the factors of `userIds` counted as one more wrong code before it is
 * judged, and the factor paused as if it were wrong once the run reaches the limit, unless the factor is paused
 * now (then the try is refused unjudged and counts for nothing). A right code ends the run where it is accepted.
 * Row locks make tries at once meet the limit exactly as tries in a row.
 */
export function chargeFactor(userIds: (q: QueryCreator<DB>) => OperandExpression<string>, run: CodeRunPolicy, now: Date): Step {
  const pausedUntil = new Date(now.getTime() + run.pauseHours * 3600 * 1000);
  return charged.as(
    (q) =>
      new QueryRows(
        tables
          .updateTable("totp_factors")
          .set((eb) => ({
            failures: eb("failures", "+", 1),
            paused_until: eb
              .case()
              .when(eb("failures", "+", 1), ">=", run.pauseAfter)
              .then(eb.val<Date | null>(pausedUntil))
              .else(eb.ref("paused_until"))
              .end(),
          }))
          .where("user_id", "in", userIds(q))
          .where((eb) => eb.or([eb("paused_until", "is", null), eb("paused_until", "<=", now)]))
          .returning(["user_id", "failures"]),
      ),
  );
}

/** The run a try was counted in (null: not counted, the factor paused), for the read's result. */
export function chargedRun(): AliasableExpression<number | null> {
  return charged.from().select("failures").limit(1).$asScalar();
}

/** Who tries a user's own factor: pending (an enrolment's first code) or confirmed (step-up, turning it off). */
export interface OwnFactorTry {
  userId: string;
  confirmed: boolean;
  /** The try comes after the user's right password: the run its try was counted in ends in this statement. */
  afterPassword: PasswordRun | undefined;
  run: CodeRunPolicy;
  now: Date;
}

/**
 * The factor guard's read of a user's own factor, with the try counted (see `chargeFactor`). When the run of wrong
 * passwords ends here too, the user's row is locked first (the one lock order: a statement that writes it and a
 * factor locks the user before the factor).
 */
export async function chargeOwnFactorTry(db: Db, request: OwnFactorTry): Promise<FactorTry | undefined> {
  const { userId, confirmed, afterPassword, run, now } = request;
  const ownFactor = (q: QueryCreator<DB>) =>
    q
      .selectFrom("totp_factors")
      .select("user_id")
      .where("user_id", "=", userId)
      .where("confirmed_at", confirmed ? "is not" : "is", null);
  const statement = withSteps(db, chargeFactor(ownFactor, run, now), afterPassword && endPasswordRun(afterPassword))
    .selectFrom("totp_factors as f")
    .innerJoin("users as u", "u.id", "f.user_id")
    .select(FACTOR_COLUMNS)
    .select(() => chargedRun().as("run"))
    .where("f.user_id", "in", ownFactor(db));
  const [row] = await afterLockingUsers(db, { users: { ids: [userId] }, mode: "change" }, statement);
  return row && { factor: factorFrom(row), run: row.run ?? undefined };
}

/**
 * Starts (or starts again) the enrolment of a TOTP factor with this sealed secret, unless one is confirmed
 * already; the right password it needed ends the run of wrong ones. Returns the user's address (for the
 * authenticator's label), or why nothing started.
 */
export async function startEnrolment(
  db: Db,
  enrolment: { userId: string; secretSealed: string; passwordRun: PasswordRun; now: Date },
): Promise<{ started: true; email: string } | { started: false; reason: "already_enabled" | "user_gone" }> {
  const { userId, secretSealed, passwordRun, now } = enrolment;
  const pending = cte<{ user_id: string }>()("pending");
  const row = await withSteps(
    db,
    pending.as(
      (q) =>
        new QueryRows(
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
        ),
    ),
    endPasswordRun(passwordRun),
  )
    .selectFrom("users")
    .select((eb) => ["email", eb.exists(pending.from().select("user_id")).as("started")])
    .where("id", "=", userId)
    .executeTakeFirst();
  if (!row) return { started: false, reason: "user_gone" };
  return row.started ? { started: true, email: row.email } : { started: false, reason: "already_enabled" };
}

/** A wrong code (or recovery code), counted already when its factor was read: its event, and the notice of a pause it began. */
export interface FactorFailure {
  userId: string;
  /** To the owner, when this code's count began a pause (recorded as `codes_paused`). */
  pauseNotice: MailToQueue | undefined;
  details: EventDetails;
  events: EventContext;
}

/** Records a wrong code of the user's factor with its event, in one statement; returns the pause notice, if queued. */
export async function recordFactorFailure(db: Db, failure: FactorFailure): Promise<QueuedMail | null> {
  const { userId, pauseNotice, details, events } = failure;
  const user = () => tables.selectFrom("users").where("id", "=", userId);
  const notice = queueMail("notice", pauseNotice && { recipients: () => user().select("email as to_address"), mail: pauseNotice });
  const row = await withSteps(
    db,
    notice.step,
    recordEvents(events, { type: "mfa_failed", details, rows: () => user().select(["id as user_id", noRowDetails()]) }),
    pauseNotice &&
      recordEvents(events, {
        type: "codes_paused",
        details: { scope: "totp" },
        rows: () => user().select(["id as user_id", noRowDetails()]),
      }),
  )
    .selectNoFrom(() => notice.queued().as("notice"))
    .executeTakeFirstOrThrow();
  return row.notice;
}

/** A factor change that every session of the user ends with, the caller's going on as a fresh one. */
interface FactorChange {
  userId: string;
  fresh: FreshSession;
  notice: MailToQueue;
  events: EventContext;
}

export interface FactorConfirmation extends FactorChange {
  /** The secret the code was checked against: a factor enrolled again meanwhile is not confirmed by it. */
  secretSealed: string;
  step: number;
  recoveryHashes: Uint8Array[];
}

const confirmed = cte<{ user_id: string }>()("confirmed");
const oldCodes = cte<{ code_hash: Uint8Array }>()("old_codes");
const newCodes = cte<{ code_hash: Uint8Array }>()("new_codes");
const removed = cte<{ user_id: string; email: string }>()("removed");
const codesRemoved = cte<{ code_hash: Uint8Array }>()("codes_removed");

/**
 * Ten new recovery codes for the confirmed factor's user, replacing any earlier ones. Raw SQL for the list of
 * hashes as rows (a VALUES list the builder cannot put in a FROM clause).
 */
function replaceRecoveryCodes(hashes: Uint8Array[], now: Date): Step[] {
  const confirmedUser = () => confirmed.from().select("user_id");
  const rows = sql<{
    code_hash: Uint8Array;
  }>`(select * from (values ${sql.join(hashes.map((hash) => sql`(${hash}::bytea)`))}) as v(code_hash))`;
  return [
    oldCodes.as(() => new QueryRows(tables.deleteFrom("recovery_codes").where("user_id", "in", confirmedUser()).returning("code_hash"))),
    newCodes.as(
      () =>
        new QueryRows(
          tables
            .insertInto("recovery_codes")
            .columns(["code_hash", "user_id", "created_at"])
            .expression(
              tables
                .selectFrom(rows.as("codes"))
                .innerJoin(confirmedUser().as("confirmed"), (join) => join.onTrue())
                .select((eb) => ["codes.code_hash", "confirmed.user_id", eb.val(now).as("created_at")]),
            )
            .returning("code_hash"),
        ),
    ),
  ];
}

/**
 * The rest of a factor change: every session of the users `changedUsers` selects ends (their generation moves
 * on), the caller's goes on as a fresh one, the owner is told. Answers the fresh session's standing with the
 * notice and what ended.
 */
function endSessionsForChange(
  db: Db,
  ender: SessionEnder,
  change: FactorChange,
  changedUsers: (q: QueryCreator<DB>) => OperandExpression<string>,
) {
  const now = change.events.now;
  const advancedRows = (q: QueryCreator<DB>) =>
    new QueryRows(
      tables
        .updateTable("users")
        .set((eb) => advanceGeneration(eb, now))
        .where("id", "in", changedUsers(q))
        .returning(["id", "session_generation"]),
    );
  const ending = ender.endAllSessionsAdvancedBy(advancedRows);
  const notice = queueMail("notice", {
    recipients: () => tables.selectFrom("users").select("email as to_address").where("id", "in", changedUsers(tables)),
    mail: change.notice,
  });
  return {
    // the fresh session is of the generation the update above moved the user to, as it returned it
    steps: [ending.step, openSessionFor(() => advanced.from().select(["id", "session_generation"]), change.fresh, now), notice.step],
    result: () =>
      tables
        .selectFrom(tables.selectNoFrom([notice.queued().as("notice"), ending.ended().as("ended")]).as("effects"))
        .leftJoin(openedStanding().as("standing"), (join) => join.onTrue())
        .selectAll(),
  };
}

/**
 * Turns the factor on with its first right code, in one transaction after taking the user's row lock: the factor
 * confirmed (that code spent), ten recovery codes stored as HMACs, every session of the user ended and the caller's
 * continued as a fresh one with the factor in its `amr`, the owner told, the event recorded. Nothing when the
 * factor was enrolled again or confirmed meanwhile, or the caller's session ended.
 */
export async function confirmFactor(
  db: Db,
  ender: SessionEnder,
  confirmation: FactorConfirmation,
): Promise<{ standing: SessionStanding | undefined; notice: QueuedMail | null; endings: Endings }> {
  const { userId, secretSealed, step, recoveryHashes, fresh, events } = confirmation;
  const now = events.now;
  const change = endSessionsForChange(db, ender, confirmation, () => confirmed.from().select("user_id"));
  const callerSession = "continues" in fresh.proof ? fresh.proof.continues : "";
  const statement = withSteps(
    db,
    confirmed.as(
      (q) =>
        new QueryRows(
          q
            .updateTable("totp_factors")
            .set({ confirmed_at: now, last_step: String(step), failures: 0, paused_until: null })
            .where("user_id", "=", userId)
            .where("confirmed_at", "is", null)
            .where("secret_sealed", "=", secretSealed)
            .where((eb) => eb.exists(eb.selectFrom("sessions").select("id").where("id", "=", callerSession).where("user_id", "=", userId)))
            .returning("user_id"),
        ),
    ),
    ...replaceRecoveryCodes(recoveryHashes, now),
    ...change.steps,
    recordEvents(events, {
      type: "mfa_enabled",
      details: { method: "totp" },
      rows: () => confirmed.from().select(["user_id", noRowDetails()]),
    }),
  )
    .selectFrom(change.result().as("result"))
    .selectAll();
  const [row] = await afterLockingUsers(db, { users: { ids: [userId] }, mode: "change" }, statement);
  return { standing: row && SessionStanding.fromRow(row), notice: row?.notice ?? null, endings: endingsFrom(row?.ended) };
}

/** The user's factor and recovery codes, gone, while the actor stands (a user's own choice, or an admin's reset). */
function removeFactor(userId: string, allowed: Expression<SqlBool>): Step[] {
  return [
    removed.as(
      (q) =>
        new QueryRows(
          q
            .deleteFrom("totp_factors")
            .using("users")
            .whereRef("users.id", "=", "totp_factors.user_id")
            .where("totp_factors.user_id", "=", userId)
            .where(allowed)
            .returning(["totp_factors.user_id", "users.email"]),
        ),
    ),
    codesRemoved.as(
      () =>
        new QueryRows(tables.deleteFrom("recovery_codes").where("user_id", "in", removed.from().select("user_id")).returning("code_hash")),
    ),
  ];
}

/**
 * Turns an active user's own factor off (their password and a current code checked before): the factor and its
 * recovery codes go, every session of the user ends (none may go on claiming the factor in its `amr`), the
 * caller's continues as a fresh one without it, the owner is told, the event recorded.
 */
export async function disableFactor(
  db: Db,
  ender: SessionEnder,
  request: FactorChange,
): Promise<{ standing: SessionStanding | undefined; notice: QueuedMail | null; endings: Endings }> {
  const { userId, events } = request;
  const change = endSessionsForChange(db, ender, request, () => removed.from().select("user_id"));
  const statement = withSteps(
    db,
    ...removeFactor(userId, actorStands({ id: userId, needs: "user" })),
    ...change.steps,
    recordEvents(events, { type: "mfa_disabled", rows: () => removed.from().select(["user_id", noRowDetails()]) }),
  )
    .selectFrom(change.result().as("result"))
    .selectAll();
  const [row] = await afterLockingUsers(db, { users: { ids: [userId] }, mode: "change" }, statement);
  return { standing: row && SessionStanding.fromRow(row), notice: row?.notice ?? null, endings: endingsFrom(row?.ended) };
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
  const ending = ender.endAllSessionsOf(() => removed.from().select("user_id"));
  const notice = queueMail("notice", { recipients: () => removed.from().select("email as to_address"), mail: request.notice });
  const statement = withSteps(
    db,
    ...removeFactor(userId, allowed),
    ending.step,
    notice.step,
    recordEvents(events, { type: "mfa_reset", details: { by: "admin" }, rows: () => removed.from().select(["user_id", noRowDetails()]) }),
  ).selectNoFrom((eb) => [
    eb.exists(removed.from().select("user_id")).as("reset"),
    allowed.as("allowed"),
    notice.queued().as("notice"),
    ending.ended().as("ended"),
  ]);
  const [row] = await afterLockingUsers(db, { users: { ids: [userId, actor.id] }, mode: "change" }, statement);
  const outcome = row?.allowed !== true ? "forbidden" : row.reset === true ? "reset" : "not_enabled";
  return { outcome, notice: row?.notice ?? null, endings: endingsFrom(row?.ended) };
}
