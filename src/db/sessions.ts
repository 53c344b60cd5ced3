// Sessions and their refresh tokens: starting one at login, listing them, rotating a token, ending them.
import { type AliasableExpression, type Expression, expressionBuilder, type QueryCreator, type SqlBool } from "kysely";
import { jsonBuildObject } from "kysely/helpers/postgres";
import type { EndedBy } from "../schemas/events.ts";
import type { AuthMethod } from "../schemas/mfa.ts";
import type { UserRole, UserStatus } from "../schemas/user.ts";
import type { Db } from "./client.ts";
import { type EventContext, recordEvents } from "./events.ts";
import { partBuilder, QueryRows, type Step, withSteps } from "./parts.ts";
import { type Actor, actorStands } from "./actor.ts";
import { blacklistEntryOf, type Endings, endingsFrom, NOTHING_ENDED, type SessionEnder } from "./revocations.ts";
import type { DB } from "./schema.ts";
import { afterLockingUsers } from "./user-lock.ts";

export type RotationOutcome = "rotated" | "replayed" | "reused" | "expired" | "revoked";

interface PresentedToken {
  session_id: string;
  user_id: string;
  used_at: Date | null;
  used_by: Uint8Array | null;
  expires_at: Date;
}

const sessionParts = partBuilder<{
  owner: { id: string; role: UserRole; status: UserStatus; session_generation: number };
  opened: { id: string; user_id: string };
  token: { user_id: string };
  presented: PresentedToken;
  session_revoked: { token_id: string };
  spent: { session_id: string; user_id: string };
  verdict: { session_id: string; user_id: string; outcome: RotationOutcome };
}>();

export interface NewSession {
  userId: string;
  /** The password hash the login was checked against: if it changed since, the login is void. */
  verifiedHash: string;
  fresh: Omit<FreshSession, "amr">;
  /**
   * How the login proved who it is. A password alone starts a session only for an account without a second
   * factor (one confirmed meanwhile voids the login); with the factor, only in the generation the challenge
   * was made in (sessions ended meanwhile void it).
   */
  proof: { amr: ["pwd"] } | { amr: ["pwd", "otp"]; generation: number; factorProved: Expression<SqlBool> };
  events: EventContext;
}

/** A session about to start: its id, its first refresh token, where it starts from, and how it was proved. */
export interface FreshSession {
  id: string;
  tokenHash: Uint8Array;
  expiresAt: Date;
  /** What the session list shows of where it was started. */
  userAgent: string;
  clientAddress: string | null;
  amr: AuthMethod[];
}

/**
 * Starts the session, with its first refresh token, for the user `owner` selects (none: no session), in the
 * statement that decided it: `opened` and `token`.
 */
export function openSessionFor(owner: () => AliasableExpression<{ id: string }>, fresh: FreshSession, now: Date): Step {
  const { id, tokenHash, expiresAt, userAgent, clientAddress, amr } = fresh;
  return (statement) =>
    statement
      .with(
        "opened",
        () =>
          new QueryRows(
            sessionParts
              .insertInto("sessions")
              .columns(["id", "user_id", "created_at", "user_agent", "client_address", "auth_time", "amr"])
              .expression((eb) =>
                eb
                  .selectFrom(owner().as("owner"))
                  .select((eb) => [
                    eb.val(id).as("id"),
                    "owner.id as user_id",
                    eb.val(now).as("created_at"),
                    eb.val(userAgent).as("user_agent"),
                    eb.val(clientAddress).as("client_address"),
                    eb.val(now).as("auth_time"),
                    eb.val(amr).as("amr"),
                  ]),
              )
              .returning(["id", "user_id"]),
          ),
      )
      .with(
        "token",
        () =>
          new QueryRows(
            sessionParts
              .insertInto("refresh_tokens")
              .columns(["token_hash", "session_id", "user_id", "expires_at", "created_at"])
              .expression((eb) =>
                eb
                  .selectFrom("opened")
                  .select((eb) => [
                    eb.val(tokenHash).as("token_hash"),
                    "id",
                    "user_id",
                    eb.val(expiresAt).as("expires_at"),
                    eb.val(now).as("created_at"),
                  ]),
              )
              .returning("user_id"),
          ),
      );
}

/** The session the statement started, as an event row naming it. */
export function openedSessionEvents() {
  return sessionParts.selectFrom("opened").select((eb) => ["user_id", jsonBuildObject({ session_id: eb.ref("id") }).as("row_details")]);
}

/** The owner a login's session was checked against (see `openSession`): the role and generation its tokens carry. */
export function sessionOwner() {
  return sessionParts.selectFrom("owner").select(["role", "status", "session_generation"]);
}

/** Whether the statement started its session. */
export function sessionOpened(): AliasableExpression<SqlBool> {
  return expressionBuilder<object, never>().exists(sessionParts.selectFrom("token").select("user_id"));
}

/** A login's session, for a verified owner whose password is still the one checked, proved as `proof` says. */
export function openSession(session: NewSession): Step {
  const { userId, verifiedHash, proof, events } = session;
  const factor = (q: QueryCreator<DB>) =>
    q.selectFrom("totp_factors").select("user_id").where("user_id", "=", userId).where("confirmed_at", "is not", null);
  const owner: Step = (statement) =>
    statement.with("owner", (q) => {
      const owner = q
        .selectFrom("users")
        .select(["id", "role", "status", "session_generation"])
        .where("id", "=", userId)
        .where("password_hash", "=", verifiedHash);
      return "generation" in proof
        ? owner
            .where("session_generation", "=", proof.generation)
            .where((eb) => eb.exists(factor(q)))
            .where(proof.factorProved)
        : owner.where((eb) => eb.not(eb.exists(factor(q))));
    });
  const verifiedOwner = () => sessionParts.selectFrom("owner").select("id").where("status", "=", "verified");
  return (statement) => withSteps(statement, owner, openSessionFor(verifiedOwner, { ...session.fresh, amr: proof.amr }, events.now));
}

/** The right password breaks a run of wrong ones: the account's failures are cleared. */
export function clearLoginFailures(userId: string): Step {
  return (statement) =>
    statement.with(
      "cleared",
      () =>
        new QueryRows(
          sessionParts
            .updateTable("users")
            .set({ login_failures: 0, login_blocked_until: null })
            .where("id", "=", userId)
            .where((eb) => eb.or([eb("login_failures", ">", 0), eb("login_blocked_until", "is not", null)]))
            .returning("id"),
        ),
    );
}

/** What a session started with: the role, status and generation its tokens carry, as its write saw them. */
export interface SessionStart {
  role: UserRole;
  status: UserStatus;
  generation: number;
  started: boolean;
}

/**
 * Starts a session for a user whose password was just checked, and returns the role, status and generation
 * its tokens must carry, as this statement sees them under the user's row lock: a role or status change
 * racing the login either commits first, and is seen here, or waits for this statement and then ends the
 * session it started. Only a verified account gets a session; the right password clears the account's
 * failures (so the lock is the changing kind: two logins of one user take turns). Returns undefined when
 * the user is gone or the password changed since it was checked.
 */
export async function startSession(db: Db, session: NewSession): Promise<SessionStart | undefined> {
  const statement = withSteps(
    db,
    openSession(session),
    clearLoginFailures(session.userId),
    recordEvents(session.events, { type: "login_succeeded", rows: openedSessionEvents }),
  )
    .selectFrom(sessionOwner().as("owner"))
    .select(["owner.role", "owner.status", "owner.session_generation"])
    .select(() => sessionOpened().as("started"));
  const [row] = await afterLockingUsers(db, { users: { ids: [session.userId] }, mode: "change" }, statement);
  return row && { role: row.role, status: row.status, generation: row.session_generation, started: row.started === true };
}

/** A session as its owner sees it in "where am I logged in". */
export interface SessionListing {
  id: string;
  created_at: Date;
  last_refreshed_at: Date | null;
  user_agent: string;
  client_address: string | null;
}

/**
 * The user's live sessions (with a refresh token that has not expired), newest first, in one statement
 * that also tells whether the user exists (`undefined` when not).
 */
export async function listSessions(db: Db, userId: string, now: Date): Promise<SessionListing[] | undefined> {
  const rows = await db
    .selectFrom("users as u")
    .leftJoin("sessions as s", "s.user_id", "u.id")
    .leftJoin("refresh_tokens as t", (join) => join.onRef("t.session_id", "=", "s.id").on("t.expires_at", ">", now))
    .select((eb) => [
      "s.id",
      "s.created_at",
      "s.user_agent",
      "s.client_address",
      // the newest token of the chain was made by the last refresh, unless it is the login's own
      eb.fn.max("t.created_at").filterWhere("t.created_at", ">", eb.ref("s.created_at")).as("last_refreshed_at"),
      eb.fn.count("t.token_hash").as("live_tokens"),
    ])
    .where("u.id", "=", userId)
    .groupBy(["u.id", "s.id"])
    .orderBy("s.created_at", (ob) => ob.desc().nullsLast())
    .orderBy("s.id")
    .execute();
  if (rows.length === 0) return undefined;
  return rows.flatMap(({ id, created_at, user_agent, client_address, last_refreshed_at, live_tokens }) =>
    id !== null && created_at !== null && user_agent !== null && Number(live_tokens) > 0
      ? [{ id, created_at, user_agent, client_address, last_refreshed_at }]
      : [],
  );
}

export interface Rotation {
  outcome: RotationOutcome;
  sessionId: string;
  userId: string;
  role: UserRole;
  status: UserStatus;
  generation: number;
  /** How the session was made, and when its person last proved who they are: the successor's tokens carry both. */
  amr: AuthMethod[];
  authTime: Date;
}

export interface RotationRequest {
  tokenHash: Uint8Array;
  successorHash: Uint8Array;
  successorExpiresAt: Date;
  /** The client presenting the token (a hash of its user agent and network). */
  clientFingerprint: Uint8Array;
  /** A token spent after this instant, by the same client, may be replayed for the same successor. */
  graceStart: Date;
  events: EventContext;
}

/**
 * The token presented, locked (FOR UPDATE) so concurrent rotations of it queue: exactly one spends it.
 * It is spent only while live and while its session is not on the blacklist, and its successor joins the
 * whitelist in the same statement.
 */
function spendToken(request: RotationRequest): Step {
  const { tokenHash, successorHash, successorExpiresAt, clientFingerprint, events } = request;
  const now = events.now;
  return (statement) =>
    statement
      .with("presented", (q) =>
        q
          .selectFrom("refresh_tokens")
          .select(["session_id", "user_id", "used_at", "used_by", "expires_at"])
          .where("token_hash", "=", tokenHash)
          .forUpdate(),
      )
      // a session ended by a concurrent statement cannot live on through a rotation
      .with("session_revoked", () => blacklistEntryOf(sessionParts.selectFrom("presented").select("session_id")))
      .with(
        "spent",
        () =>
          new QueryRows(
            sessionParts
              .updateTable("refresh_tokens")
              .set({ used_at: now, used_by: clientFingerprint })
              .where("token_hash", "=", tokenHash)
              .where("used_at", "is", null)
              .where("expires_at", ">", now)
              .where((eb) => eb.not(eb.exists(eb.selectFrom("session_revoked").select("token_id"))))
              .returning(["session_id", "user_id"]),
          ),
      )
      .with(
        "successor",
        () =>
          new QueryRows(
            sessionParts
              .insertInto("refresh_tokens")
              .columns(["token_hash", "session_id", "user_id", "expires_at", "created_at"])
              .expression((eb) =>
                eb
                  .selectFrom("spent")
                  .select((eb) => [
                    eb.val(successorHash).as("token_hash"),
                    "session_id",
                    "user_id",
                    eb.val(successorExpiresAt).as("expires_at"),
                    eb.val(now).as("created_at"),
                  ]),
              )
              .returning("session_id"),
          ),
      );
}

/**
 * What became of the presentation: spent now (`rotated`), expired, on the blacklist (`revoked`), spent
 * moments ago by this same client whose successor is still unused (`replayed`: two tabs refreshing at
 * once), or else `reused`: a spent token in someone else's hands (RFC 9700 §4.14.2).
 */
function judgePresentation(request: RotationRequest): Step {
  const { successorHash, clientFingerprint, graceStart, events } = request;
  return (statement) =>
    statement.with("verdict", () =>
      sessionParts.selectFrom("presented").select((eb) => [
        "session_id",
        "user_id",
        eb
          .case()
          .when(eb.exists(eb.selectFrom("spent").select("session_id")))
          .then(eb.val<RotationOutcome>("rotated"))
          .when("expires_at", "<=", events.now)
          .then(eb.val<RotationOutcome>("expired"))
          .when(eb.exists(eb.selectFrom("session_revoked").select("token_id")))
          .then(eb.val<RotationOutcome>("revoked"))
          .when(
            eb.and([
              eb("used_at", ">", graceStart),
              eb("used_by", "=", clientFingerprint),
              eb.not(
                eb.exists(
                  eb
                    .selectFrom("refresh_tokens")
                    .select("session_id")
                    .where("token_hash", "=", successorHash)
                    .where("used_at", "is not", null),
                ),
              ),
            ]),
          )
          .then(eb.val<RotationOutcome>("replayed"))
          .else(eb.val<RotationOutcome>("reused"))
          .end()
          .as("outcome"),
      ]),
    );
}

/** The presentations judged `outcome`, as event rows naming their session. */
function verdictEvents(outcome: RotationOutcome) {
  return sessionParts
    .selectFrom("verdict")
    .select((eb) => ["user_id", jsonBuildObject({ session_id: eb.ref("session_id") }).as("row_details")])
    .where("outcome", "=", outcome);
}

/**
 * Spends a refresh token and stores its successor, in one statement, after taking its user's row lock
 * (shared: rotations of one user run side by side, and anything that ends sessions waits for them, or they
 * for it, and then sees the other). A reused token ends its whole session; a session on the blacklist never
 * rotates. `rotation` is undefined for a token that is not (or no longer) in the whitelist, or whose user is
 * gone.
 */
export async function rotateRefreshToken(
  db: Db,
  ender: SessionEnder,
  request: RotationRequest,
): Promise<{ rotation: Rotation | undefined; endings: Endings }> {
  const ending = ender.endSessions(() => sessionParts.selectFrom("verdict").select("session_id").where("outcome", "=", "reused"));
  const statement = withSteps(
    db,
    spendToken(request),
    judgePresentation(request),
    ending.step,
    recordEvents(request.events, { type: "refresh_reuse_detected", rows: () => verdictEvents("reused") }),
    recordEvents(request.events, { type: "refresh_replayed", rows: () => verdictEvents("replayed") }),
  )
    .selectFrom(
      sessionParts
        .selectFrom("verdict")
        .innerJoin("users", "users.id", "verdict.user_id")
        .innerJoin("sessions", "sessions.id", "verdict.session_id")
        .select([
          "verdict.outcome",
          "verdict.session_id",
          "verdict.user_id",
          "users.role",
          "users.status",
          "users.session_generation",
          "sessions.amr",
          "sessions.auth_time",
        ])
        .as("judged"),
    )
    .selectAll("judged")
    .select(() => ending.ended().as("ended"));
  const [row] = await afterLockingUsers(db, { users: { refreshTokenHash: request.tokenHash }, mode: "share" }, statement);
  if (!row) return { rotation: undefined, endings: NOTHING_ENDED };
  const { outcome, session_id, user_id, role, status, session_generation, amr, auth_time } = row;
  return {
    rotation: { outcome, sessionId: session_id, userId: user_id, role, status, generation: session_generation, amr, authTime: auth_time },
    endings: endingsFrom(row.ended),
  };
}

/**
 * Ends the session a live refresh token belongs to, after taking its user's row lock, so a rotation of the
 * same session either comes first, and its successor ends here, or comes after and finds nothing to rotate.
 * Nothing ends when the token is unknown or expired.
 */
export async function endSessionOfToken(
  db: Db,
  ender: SessionEnder,
  tokenHash: Uint8Array,
  events: EventContext,
): Promise<{ endings: Endings }> {
  const ending = ender.endSessions((q) =>
    q.selectFrom("refresh_tokens").select("session_id").where("token_hash", "=", tokenHash).where("expires_at", ">", events.now),
  );
  const statement = withSteps(
    db,
    ending.step,
    recordEvents(events, { type: "logged_out", rows: () => ending.closedSessionEvents() }),
  ).selectNoFrom(() => ending.ended().as("ended"));
  const [row] = await afterLockingUsers(db, { users: { refreshTokenHash: tokenHash }, mode: "change" }, statement);
  return { endings: endingsFrom(row?.ended) };
}

/**
 * Ends sessions of a user, chosen by `which`: one of them (by id), or all (the user's generation moves on).
 * Every ended session is recorded as `session_ended`. The user's row (and an admin actor's) is locked first,
 * in the same transaction, so a login or rotation racing it is ended too, or comes after. An admin acting on
 * another user must still be an active admin as the database has them now.
 */
export async function endUserSessions(
  db: Db,
  ender: SessionEnder,
  request: { userId: string; which: { sessionId: string } | "all"; by: EndedBy; actor: Actor; events: EventContext },
): Promise<{ userFound: boolean; allowed: boolean; endings: Endings }> {
  const { userId, which, by, actor, events } = request;
  const allowed = actorStands(actor);
  const ofUser = (q: QueryCreator<DB>) => q.selectFrom("users").select("id").where("id", "=", userId).where(allowed);
  const ending =
    which === "all"
      ? ender.endAllSessionsOf(ofUser)
      : ender.endSessions((q) => q.selectFrom("sessions").select("id").where("id", "=", which.sessionId).where("user_id", "in", ofUser(q)));
  const statement = withSteps(
    db,
    ending.step,
    recordEvents(events, { type: "session_ended", details: { by, all: which === "all" }, rows: () => ending.closedSessionEvents() }),
  ).selectNoFrom((eb) => [
    eb.exists(eb.selectFrom("users").select("id").where("id", "=", userId)).as("user_found"),
    allowed.as("allowed"),
    ending.ended().as("ended"),
  ]);
  const [row] = await afterLockingUsers(db, { users: { ids: [userId, actor.id] }, mode: "change" }, statement);
  return { userFound: row?.user_found === true, allowed: row?.allowed === true, endings: endingsFrom(row?.ended) };
}
