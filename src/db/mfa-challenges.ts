// A login's second step and step-up: challenges answered with a code of the app or a recovery code, and a live
// session's authentication renewed. The factor itself (enrolment, its run of wrong codes, removal) is in mfa.ts.
import { type AliasableExpression, type Expression, type ExpressionBuilder, expressionBuilder, sql, type SqlBool } from "kysely";
import type { CodeRunPolicy } from "../policy.ts";
import type { AuthMethod } from "../schemas/mfa.ts";
import type { DB } from "./schema.ts";
import type { Db } from "./client.ts";
import { type EventContext, noRowDetails, recordEvents } from "./events.ts";
import { chargeFactor, chargedRun, FACTOR_COLUMNS, type FactorTry, factorFrom } from "./mfa.ts";
import { type MailToQueue, type QueuedMail, queueMail } from "./outbox.ts";
import { cte, QueryRows, type Step, tables, withSteps } from "./parts.ts";
import { type DeviceSignIn, foundDevice, type KnownDevice, knownDeviceId } from "./devices.ts";
import { endPasswordRun, type PasswordRun } from "./password-run.ts";
import {
  type CheckedProof,
  type FreshSession,
  type NewSession,
  openedSessionEvents,
  openSession,
  type SessionColumns,
  SessionStanding,
  sessionOpened,
  sessionStartColumns,
  standingOf,
} from "./sessions.ts";
import { afterLockingUsers } from "./user-lock.ts";

/** A login's challenge: its token's hash, the password hash checked and the generation it was made in. */
export interface NewChallenge {
  tokenHash: Uint8Array;
  userId: string;
  /** The run the password's try was counted in (the account's, or the known device's it came from); none after a provider's sign-in. */
  run: PasswordRun | undefined;
  /** What the first step checked: the password hash, or the identity the provider signed in. */
  checked: CheckedProof;
  generation: number;
  expiresAt: Date;
  events: EventContext;
}

const createdChallenge = cte<{ user_id: string }>()("challenge");

/**
 * The challenge, stored for its user (when `when` holds): in the generation the first step saw, or, for a first step
 * that is this statement, the user's generation as the statement sees it.
 */
export function storeChallenge(
  challenge: Omit<NewChallenge, "events" | "run" | "generation"> & {
    generation: number | "current";
    device: KnownDevice;
    now: Date;
  },
  when?: Expression<SqlBool>,
): Step {
  const { tokenHash, userId, checked, generation, device, expiresAt, now } = challenge;
  return createdChallenge.as(
    () =>
      new QueryRows(
        tables
          .insertInto("mfa_challenges")
          .columns(["token_hash", "user_id", "password_hash", "identity_id", "generation", "device_id", "expires_at", "created_at"])
          .expression(
            tables
              .selectFrom("users")
              .select((eb) => [
                eb.val(tokenHash).as("token_hash"),
                "id",
                eb.val("passwordHash" in checked ? checked.passwordHash : null).as("password_hash"),
                eb.cast<string | null>(eb.val("identityId" in checked ? checked.identityId : null), "uuid").as("identity_id"),
                generation === "current" ? eb.ref("session_generation").as("generation") : eb.val(generation).as("generation"),
                knownDeviceId(userId, device).as("device_id"),
                eb.val(expiresAt).as("expires_at"),
                eb.val(now).as("created_at"),
              ])
              .where("id", "=", userId)
              .$if(when !== undefined, (qb) => qb.where(when ?? sql.lit(true))),
          )
          .returning("user_id"),
      ),
  );
}

/** Whether the statement stored its challenge. */
export function challengeStored(): AliasableExpression<SqlBool> {
  return expressionBuilder<object, never>().exists(createdChallenge.from().select("user_id"));
}

/**
 * Records the challenge of a login whose password was right, for an account with a factor: the second of its
 * two round trips, which also ends the account's run of wrong passwords.
 */
export async function createChallenge(db: Db, challenge: NewChallenge): Promise<void> {
  const { run, events } = challenge;
  await withSteps(db, run && endPasswordRun(run), storeChallenge({ ...challenge, device: foundDevice(run?.deviceId), now: events.now }))
    .selectNoFrom((eb) => eb.lit(1).as("done"))
    .execute();
}

/**
 * The challenge of this token while it can still succeed: unused, unexpired, and its user as it was when the
 * password was checked (the same password hash and generation, still verified). A dead challenge is found here
 * before a code is judged or spent, so a code sent to it is never used up for nothing.
 */
function boundChallenges(eb: ExpressionBuilder<DB, never>, tokenHash: Uint8Array, now: Date) {
  return eb
    .selectFrom("mfa_challenges as c")
    .innerJoin("users as u", "u.id", "c.user_id")
    .where("c.token_hash", "=", tokenHash)
    .where("c.used_at", "is", null)
    .where("c.expires_at", ">", now)
    .where((eb) =>
      eb.or([
        eb("u.password_hash", "=", eb.ref("c.password_hash")),
        eb.exists(
          eb.selectFrom("identities as i").select("i.id").whereRef("i.id", "=", "c.identity_id").whereRef("i.user_id", "=", "u.id"),
        ),
      ]),
    )
    .whereRef("u.session_generation", "=", "c.generation")
    .where("u.status", "=", "verified");
}

/** A live challenge with its user's factor, as the factor guard read it: what completing it needs. */
export interface ChallengeTry extends FactorTry {
  checked: CheckedProof;
  generation: number;
  /** The known device the login's password came from, if it came from one. */
  deviceId: string | undefined;
}

/**
 * The factor guard's read for a login's challenge: the challenge, if it can still succeed, with its user's factor,
 * and this try counted in the factor's run of wrong codes (see `chargeFactor`). Undefined for a dead challenge.
 */
export async function chargeChallengeTry(
  db: Db,
  request: { tokenHash: Uint8Array; run: CodeRunPolicy; now: Date },
): Promise<ChallengeTry | undefined> {
  const { tokenHash, run, now } = request;
  const eb = expressionBuilder<DB, never>();
  const row = await withSteps(
    db,
    chargeFactor(() => boundChallenges(eb, tokenHash, now).select("c.user_id"), run, now),
  )
    .selectFrom("mfa_challenges as c")
    .innerJoin("totp_factors as f", "f.user_id", "c.user_id")
    .innerJoin("users as u", "u.id", "c.user_id")
    .select([...FACTOR_COLUMNS, "c.password_hash", "c.identity_id", "c.generation", "c.device_id"])
    .select(() => chargedRun().as("run"))
    .where("c.token_hash", "=", tokenHash)
    .where("c.user_id", "in", boundChallenges(eb, tokenHash, now).select("c.user_id"))
    .where("f.confirmed_at", "is not", null)
    .executeTakeFirst();
  return (
    row && {
      factor: factorFrom(row),
      run: row.run ?? undefined,
      checked: row.password_hash === null ? { identityId: row.identity_id ?? "" } : { passwordHash: row.password_hash },
      generation: row.generation,
      deviceId: row.device_id ?? undefined,
    }
  );
}

const live = cte<{ user_id: string }>()("live");
const factorUsed = cte<{ user_id: string }>()("factor_used");
const runEnded = cte<{ user_id: string }>()("factor_run_ended");
const spent = cte<{ user_id: string }>()("challenge_spent");
const renewed = cte<SessionColumns>()("renewed");

/**
 * A code of the app accepted at its time step (as `factor_used`), when `also` holds: once, since a replay of the
 * same code (or an older one) meets a later last step. It ends the user's run of wrong codes.
 */
function acceptStep(userId: string, step: number, also: Expression<SqlBool>): Step {
  return factorUsed.as(
    (q) =>
      new QueryRows(
        q
          .updateTable("totp_factors")
          .set({ last_step: String(step), failures: 0, paused_until: null })
          .where("user_id", "=", userId)
          .where("confirmed_at", "is not", null)
          .where((eb) => eb.or([eb("last_step", "is", null), eb("last_step", "<", String(step))]))
          .where(also)
          .returning("user_id"),
      ),
  );
}

/** How a challenge was met: a code of the app at its time step, or a recovery code (its hash). */
export type FactorProof = { step: number } | { recoveryHash: Uint8Array };

/** The factor, used while the challenge can succeed: a TOTP step later than the last one accepted, or an unused recovery code, spent. */
function useFactor(userId: string, proof: FactorProof, now: Date): Step[] {
  const challengeLive = expressionBuilder<object, never>().exists(live.from().select("user_id"));
  if ("step" in proof) return [acceptStep(userId, proof.step, challengeLive)];
  return [
    factorUsed.as(
      (q) =>
        new QueryRows(
          q
            .updateTable("recovery_codes")
            .set({ used_at: now })
            .where("code_hash", "=", proof.recoveryHash)
            .where("user_id", "=", userId)
            .where("used_at", "is", null)
            .where(challengeLive)
            .returning("user_id"),
        ),
    ),
    runEnded.as(
      (q) =>
        new QueryRows(
          q
            .updateTable("totp_factors")
            .set({ failures: 0, paused_until: null })
            .where("user_id", "in", factorUsed.from().select("user_id"))
            .returning("user_id"),
        ),
    ),
  ];
}

export interface ChallengeCompletion {
  tokenHash: Uint8Array;
  userId: string;
  challenge: ChallengeTry;
  proof: FactorProof;
  fresh: FreshSession;
  /** The device it signs in from (the challenge's known one, or a new one announced by `deviceNotice`). */
  device: DeviceSignIn;
  deviceNotice: MailToQueue | undefined;
  /** To the account when a recovery code was used. */
  recoveryNotice: MailToQueue | undefined;
  events: EventContext;
}

/**
 * What completing a challenge came to: a session, a wrong answer (a recovery code unknown or used, a code of the
 * app used meanwhile: the challenge stays live), or a challenge that can no longer succeed (spent or expired
 * meanwhile, or its owner's password, sessions or standing changed).
 */
export type ChallengeOutcome =
  { outcome: "started"; standing: SessionStanding; notices: (QueuedMail | null)[] } | { outcome: "wrong_answer" | "gone" };

/** The challenge spent, only once the factor was used: a wrong answer leaves it live for the next try. */
function spendChallenge(tokenHash: Uint8Array, now: Date): Step {
  return spent.as(
    (q) =>
      new QueryRows(
        q
          .updateTable("mfa_challenges")
          .set({ used_at: now })
          .where("token_hash", "=", tokenHash)
          .where((eb) => eb.exists(factorUsed.from().select("user_id")))
          .returning("user_id"),
      ),
  );
}

/** The recovery code's notice to the owner, and its event, when one was used. */
function recoveryCodeUse(completion: ChallengeCompletion) {
  const notice = queueMail(
    "notice",
    completion.recoveryNotice && {
      recipients: () => tables.selectFrom("users").select("email as to_address").where("id", "in", factorUsed.from().select("user_id")),
      mail: completion.recoveryNotice,
    },
  );
  const steps = [
    notice.step,
    recordEvents(completion.events, { type: "recovery_code_used", rows: () => factorUsed.from().select(["user_id", noRowDetails()]) }),
  ];
  return { notice, steps: "recoveryHash" in completion.proof ? steps : [] };
}

/**
 * Completes a login with its second factor, after taking the user's row lock, in one statement: the challenge's
 * bindings checked first (so a code is never spent on a challenge that cannot succeed), then the factor used (a
 * code accepted once, or a recovery code spent), the challenge spent and the session started.
 */
export async function completeChallenge(db: Db, completion: ChallengeCompletion): Promise<ChallengeOutcome> {
  const { tokenHash, userId, challenge, proof, fresh, events } = completion;
  const now = events.now;
  const eb = expressionBuilder<DB, never>();
  const newSession: NewSession = {
    userId,
    proof: { ...challenge.checked, secondFactor: eb.exists(factorUsed.from().select("user_id")) },
    fresh,
    device: completion.device,
    notice: completion.deviceNotice,
    events,
  };
  const recovery = recoveryCodeUse(completion);
  const opening = openSession(newSession);
  const statement = withSteps(
    db,
    live.as(() => boundChallenges(eb, tokenHash, now).select("c.user_id")),
    ...useFactor(userId, proof, now),
    spendChallenge(tokenHash, now),
    opening.step,
    ...recovery.steps,
    recordEvents(events, {
      type: "login_succeeded",
      details: { second_factor: "step" in proof ? "totp" : "recovery_code" },
      rows: openedSessionEvents,
    }),
  )
    .selectFrom(
      tables
        .selectNoFrom([
          sessionOpened().as("started"),
          eb.exists(live.from().select("user_id")).as("live"),
          eb.exists(factorUsed.from().select("user_id")).as("used"),
          recovery.notice.queued().as("notice"),
          opening.deviceNotice.queued().as("device_notice"),
        ])
        .as("effects"),
    )
    .leftJoin(sessionStartColumns().as("start"), (join) => join.onTrue())
    .selectAll();
  const [row] = await afterLockingUsers(db, { users: { ids: [userId] }, mode: "change" }, statement);
  const standing = row?.started === true ? SessionStanding.fromRow(row) : undefined;
  if (row && standing) return { outcome: "started", standing, notices: [row.notice, row.device_notice] };
  return { outcome: row?.live === true && row.used !== true ? "wrong_answer" : "gone" };
}

/**
 * What a proof spends in a step-up's statement, when it spends something (a code of the app accepted once, a
 * passkey's counter moved on): the session is renewed only if it did.
 */
export interface SpentProof {
  step: Step;
  spent: Expression<SqlBool>;
  /** The passkey that proved it, which the session is then made with (its removal ends the session). */
  passkeyId?: string;
}

/** A code of the app, accepted at its time step in the step-up's statement (once: a replay meets a later last step). */
export function acceptedCode(userId: string, step: number): SpentProof {
  const eb = expressionBuilder<object, never>();
  return { step: acceptStep(userId, step, eb.lit(true)), spent: eb.exists(factorUsed.from().select("user_id")) };
}

/** A step-up's proof: the methods proved now (a password and a code of the app, or a passkey). */
export interface Renewal {
  userId: string;
  sessionId: string;
  proved: AuthMethod[];
  spends: SpentProof | undefined;
  /** The right password's run of wrong ones, when it ends here (unless the factor's read ended it already). */
  endsPasswordRun: PasswordRun | undefined;
  events: EventContext;
}

/**
 * Proves the person behind a live session again (step-up), in one statement: the session's `auth_time` and
 * `amr` renewed (what the proof spends, spent), the event recorded. Answers the session's standing as the renewal
 * returned it; undefined when the session ended or the proof was a replay.
 */
export async function renewAuthentication(db: Db, renewal: Renewal): Promise<SessionStanding | undefined> {
  const { userId, sessionId, proved, spends, events } = renewal;
  const now = events.now;
  const session = tables
    .updateTable("sessions")
    .set({ auth_time: now, amr: proved })
    .where("id", "=", sessionId)
    .where("user_id", "=", userId)
    .returning(["id", "user_id", "generation", "amr", "auth_time"]);
  const passkeyId = spends?.passkeyId;
  const renewing = spends ? session.where(spends.spent).set((eb) => ({ passkey_id: passkeyId ?? eb.ref("passkey_id") })) : session;
  const renew = renewed.as(() => new QueryRows(renewing));
  const statement = withSteps(
    db,
    spends?.step,
    renew,
    renewal.endsPasswordRun && endPasswordRun(renewal.endsPasswordRun),
    recordEvents(events, {
      type: "reauthenticated",
      details: { amr: proved.join(" ") },
      rows: () => renewed.from().select(["user_id", noRowDetails()]),
    }),
  )
    .selectFrom(standingOf(renewed.from().selectAll()).as("renewed"))
    .selectAll();
  // the changing kind: the statement may write the user's row (the run of wrong passwords)
  const [row] = await afterLockingUsers(db, { users: { ids: [userId] }, mode: "change" }, statement);
  return row && SessionStanding.fromRow(row);
}
