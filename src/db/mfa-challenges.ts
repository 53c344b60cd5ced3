// A login's second step and step-up: challenges answered with a code of the app or a recovery code, and a live
// session's authentication renewed. The factor itself (enrolment, failures, removal) is in mfa.ts.
import { type Expression, type ExpressionBuilder, expressionBuilder, type SqlBool } from "kysely";
import type { UserRole } from "../schemas/user.ts";
import type { DB } from "./schema.ts";
import type { Db } from "./client.ts";
import { type EventContext, noRowDetails, recordEvents } from "./events.ts";
import { FACTOR_COLUMNS, type Factor, factorFrom } from "./mfa.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { partBuilder, QueryRows, type Step, withSteps } from "./parts.ts";
import {
  clearLoginFailures,
  type FreshSession,
  type NewSession,
  openedSessionEvents,
  openSession,
  sessionOpened,
  sessionOwner,
} from "./sessions.ts";
import { afterLockingUsers } from "./user-lock.ts";

const challengeParts = partBuilder<{
  live: { user_id: string };
  spent: { user_id: string };
  factor_used: { user_id: string };
  renewed: { user_id: string };
}>();

/** A login's challenge: its token's hash, the password hash checked and the generation it was made in. */
export interface NewChallenge {
  tokenHash: Uint8Array;
  userId: string;
  passwordHash: string;
  generation: number;
  expiresAt: Date;
  events: EventContext;
}

/**
 * Records the challenge of a login whose password was right, for an account with a factor: the second of
 * its two round trips, which also ends the account's run of wrong passwords.
 */
export async function createChallenge(db: Db, challenge: NewChallenge): Promise<void> {
  const { tokenHash, userId, passwordHash, generation, expiresAt, events } = challenge;
  await withSteps(db, clearLoginFailures(userId), (statement) =>
    statement.with("challenge", (q) =>
      q
        .insertInto("mfa_challenges")
        .values({
          token_hash: tokenHash,
          user_id: userId,
          password_hash: passwordHash,
          generation,
          expires_at: expiresAt,
          created_at: events.now,
        })
        .returning("user_id"),
    ),
  )
    .selectNoFrom((eb) => eb.lit(1).as("done"))
    .execute();
}

/** A live challenge, with the user's factor: what completing it needs. */
export interface LiveChallenge {
  factor: Factor;
  passwordHash: string;
  generation: number;
}

/** The challenge of this token, if it is live (unused, unexpired) and its user's factor is on. */
export async function findChallenge(db: Db, tokenHash: Uint8Array, now: Date): Promise<LiveChallenge | undefined> {
  const row = await db
    .selectFrom("mfa_challenges as c")
    .innerJoin("totp_factors as f", "f.user_id", "c.user_id")
    .innerJoin("users as u", "u.id", "c.user_id")
    .select([...FACTOR_COLUMNS(now), "c.password_hash", "c.generation"])
    .where("c.token_hash", "=", tokenHash)
    .where("c.used_at", "is", null)
    .where("c.expires_at", ">", now)
    .where("f.confirmed_at", "is not", null)
    .executeTakeFirst();
  return row && { factor: factorFrom(row), passwordHash: row.password_hash, generation: row.generation };
}

/**
 * A code of the app accepted at its time step (as `factor_used`), when `also` holds: once, since a replay of the
 * same code (or an older one) meets a later last step. It ends the user's run of wrong codes.
 */
function acceptStep(userId: string, step: number, also: (eb: ExpressionBuilder<DB, "totp_factors">) => Expression<SqlBool>): Step {
  return (statement) =>
    statement.with("factor_used", (q) =>
      q
        .updateTable("totp_factors")
        .set({ last_step: String(step), failures: 0, paused_until: null })
        .where("user_id", "=", userId)
        .where((eb) => eb.or([eb("last_step", "is", null), eb("last_step", "<", String(step))]))
        .where(also)
        .returning("user_id"),
    );
}

/** How a challenge was met: a code of the app at its time step, or a recovery code (its hash). */
export type FactorProof = { step: number } | { recoveryHash: Uint8Array };

/** The factor, used while the challenge is live: a TOTP step later than the last one accepted, or an unused recovery code, spent. */
function useFactor(userId: string, proof: FactorProof, now: Date): Step {
  const challengeLive = () => challengeParts.selectFrom("live").select("user_id");
  if ("step" in proof) return acceptStep(userId, proof.step, (eb) => eb.exists(challengeLive()));
  return (statement) =>
    statement
      .with("factor_used", (q) =>
        q
          .updateTable("recovery_codes")
          .set({ used_at: now })
          .where("code_hash", "=", proof.recoveryHash)
          .where("user_id", "=", userId)
          .where("used_at", "is", null)
          .where((eb) => eb.exists(challengeLive()))
          .returning("user_id"),
      )
      .with("run_ended", (q) =>
        q
          .updateTable("totp_factors")
          .set({ failures: 0, paused_until: null })
          .where("user_id", "in", challengeParts.selectFrom("factor_used").select("user_id"))
          .returning("user_id"),
      );
}

export interface ChallengeCompletion {
  tokenHash: Uint8Array;
  userId: string;
  challenge: LiveChallenge;
  proof: FactorProof;
  fresh: Omit<FreshSession, "amr">;
  /** To the account when a recovery code was used. */
  recoveryNotice: MailToQueue | undefined;
  events: EventContext;
}

/**
 * What completing a challenge came to: a session, a wrong answer (a recovery code unknown or used, a code of the
 * app used meanwhile: the challenge stays live), or a challenge no longer live (spent or expired meanwhile, or its
 * owner's password or sessions changed).
 */
export type ChallengeOutcome =
  { outcome: "started"; role: UserRole; generation: number; notice: QueuedMail | null } | { outcome: "wrong_answer" | "gone" };

/** The challenge of this token while it is live (unused, unexpired), as `live`. */
function liveChallenge(tokenHash: Uint8Array, now: Date): Step {
  return (statement) =>
    statement.with("live", (q) =>
      q
        .selectFrom("mfa_challenges")
        .select("user_id")
        .where("token_hash", "=", tokenHash)
        .where("used_at", "is", null)
        .where("expires_at", ">", now),
    );
}

/** The challenge spent, only once the factor was used: a wrong answer leaves it live for the next try. */
function spendChallenge(tokenHash: Uint8Array, now: Date): Step {
  return (statement) =>
    statement.with("spent", (q) =>
      q
        .updateTable("mfa_challenges")
        .set({ used_at: now })
        .where("token_hash", "=", tokenHash)
        .where((eb) => eb.exists(challengeParts.selectFrom("factor_used").select("user_id")))
        .returning("user_id"),
    );
}

/**
 * Completes a login with its second factor, after taking the user's row lock, in one statement: while the
 * challenge is live, the factor used (a code accepted once, or a recovery code spent), then the challenge spent
 * and the session started, for an owner whose password and generation are still the ones the challenge was made
 * with.
 */
export async function completeChallenge(db: Db, completion: ChallengeCompletion): Promise<ChallengeOutcome> {
  const { tokenHash, userId, challenge, proof, fresh, events } = completion;
  const now = events.now;
  const eb = expressionBuilder<object, never>();
  const factorUsed = () => challengeParts.selectFrom("factor_used").select("user_id");
  const newSession: NewSession = {
    userId,
    verifiedHash: challenge.passwordHash,
    fresh,
    proof: { amr: ["pwd", "otp"], generation: challenge.generation, factorProved: eb.exists(factorUsed()) },
    events,
  };
  const notice = queueMail(
    "notice",
    completion.recoveryNotice && {
      recipients: () => challengeParts.selectFrom("users").select("email as to_address").where("id", "in", factorUsed()),
      mail: completion.recoveryNotice,
    },
  );
  const statement = withSteps(
    db,
    liveChallenge(tokenHash, now),
    useFactor(userId, proof, now),
    spendChallenge(tokenHash, now),
    openSession(newSession),
    "recoveryHash" in proof && notice.step,
    "recoveryHash" in proof &&
      recordEvents(events, {
        type: "recovery_code_used",
        rows: () => challengeParts.selectFrom("factor_used").select(["user_id", noRowDetails()]),
      }),
    recordEvents(events, {
      type: "login_succeeded",
      details: { second_factor: "step" in proof ? "totp" : "recovery_code" },
      rows: openedSessionEvents,
    }),
  )
    .selectFrom(
      challengeParts
        .selectNoFrom([
          sessionOpened().as("started"),
          eb.exists(challengeParts.selectFrom("live").select("user_id")).as("live"),
          eb.exists(factorUsed()).as("used"),
          notice.queued().as("notice"),
        ])
        .as("effects"),
    )
    .leftJoin(sessionOwner().as("owner"), (join) => join.onTrue())
    .selectAll();
  const [row] = await afterLockingUsers(db, { users: { ids: [userId] }, mode: "change" }, statement);
  if (row?.started === true && row.role !== null && row.session_generation !== null) {
    return { outcome: "started", role: row.role, generation: row.session_generation, notice: row.notice };
  }
  return { outcome: row?.live === true && row.used !== true ? "wrong_answer" : "gone" };
}

/**
 * Proves the person behind a live session again (step-up), in one statement: the session's auth_time and amr
 * renewed (a code of the app, when given, accepted once), the event recorded. Undefined when the session ended
 * or the code was a replay; else the role and generation its new access token carries.
 */
export async function renewAuthentication(
  db: Db,
  request: { userId: string; sessionId: string; step: number | undefined; events: EventContext },
): Promise<{ role: UserRole; generation: number } | undefined> {
  const { userId, sessionId, step, events } = request;
  const now = events.now;
  const codeAccepted = step !== undefined && acceptStep(userId, step, (eb) => eb.lit(true));
  const renew: Step = (statement) =>
    statement.with(
      "renewed",
      () =>
        new QueryRows(
          challengeParts
            .updateTable("sessions")
            .set({ auth_time: now, amr: step === undefined ? ["pwd"] : ["pwd", "otp"] })
            .where("id", "=", sessionId)
            .where("user_id", "=", userId)
            .$if(step !== undefined, (qb) => qb.where((eb) => eb.exists(challengeParts.selectFrom("factor_used").select("user_id"))))
            .returning("user_id"),
        ),
    );
  const renewed = () => challengeParts.selectFrom("renewed");
  const statement = withSteps(
    db,
    codeAccepted,
    renew,
    recordEvents(events, {
      type: "reauthenticated",
      details: { amr: step === undefined ? "pwd" : "pwd otp" },
      rows: () => renewed().select(["user_id", noRowDetails()]),
    }),
  )
    .selectFrom(
      challengeParts
        .selectFrom("users")
        .select(["role", "session_generation"])
        .where("id", "in", renewed().select("user_id"))
        .as("renewed_user"),
    )
    .selectAll();
  const [row] = await afterLockingUsers(db, { users: { ids: [userId] }, mode: "share" }, statement);
  return row && { role: row.role, generation: row.session_generation };
}
