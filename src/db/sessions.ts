import { jsonBuildObject } from "kysely/helpers/postgres";
import { blacklistEntryOf, type EndedSession, type SessionEnder } from "../revocation.ts";
import type { EndedBy } from "../schemas/events.ts";
import type { UserRole, UserStatus } from "../schemas/user.ts";
import { type Db, runAfter } from "./client.ts";
import { type EventContext, noRowDetails, withEvents } from "./events.ts";
import { type MailToQueue, type QueuedMail, queuedMail, withQueuedNotice } from "./outbox.ts";
import type { DB } from "./schema.ts";

export interface NewSession {
  userId: string;
  /** The password hash the login was checked against: if it changed since, the login is void. */
  verifiedHash: string;
  sessionId: string;
  tokenHash: Uint8Array;
  expiresAt: Date;
  /** What the session list shows of where it was started. */
  userAgent: string;
  clientAddress: string | null;
  events: EventContext;
}

/**
 * Starts a session for a user whose password was just checked, and returns the role and status its
 * tokens must carry, as this statement sees them under the user's row lock (FOR SHARE): a role or
 * status change racing the login either commits first, and is seen here, or waits for this statement
 * and then ends the session it started. Only a verified account gets a session. Returns undefined when
 * the user is gone or the password changed since it was checked.
 */
export async function startSession(
  db: Db,
  session: NewSession,
): Promise<{ role: UserRole; status: UserStatus; started: boolean } | undefined> {
  const { userId, verifiedHash, sessionId, tokenHash, expiresAt, userAgent, clientAddress, events } = session;
  const now = events.now;
  const row = await withEvents(
    db
      .with("owner", (q) =>
        q
          .selectFrom("users")
          .select(["id", "role", "status"])
          .where("id", "=", userId)
          .where("password_hash", "=", verifiedHash)
          .forShare(),
      )
      .with("opened", (q) =>
        q
          .insertInto("sessions")
          .columns(["id", "user_id", "created_at", "user_agent", "client_address"])
          .expression((eb) =>
            eb
              .selectFrom("owner")
              .select((eb) => [
                eb.val(sessionId).as("id"),
                "id as user_id",
                eb.val(now).as("created_at"),
                eb.val(userAgent).as("user_agent"),
                eb.val(clientAddress).as("client_address"),
              ])
              .where("status", "=", "verified"),
          )
          .returning(["id", "user_id"]),
      )
      .with("token", (q) =>
        q
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
    events,
    [
      {
        type: "login_succeeded",
        rows: (q) => q.selectFrom("opened").select((eb) => ["user_id", jsonBuildObject({ session_id: eb.ref("id") }).as("row_details")]),
      },
    ],
  )
    .selectFrom("owner")
    .select((eb) => ["role", "status", eb.exists(eb.selectFrom("token").select("user_id")).as("started")])
    .executeTakeFirst();
  return row && { role: row.role, status: row.status, started: row.started === true };
}

/** A session as its owner sees it in "where am I logged in". */
export interface SessionRow {
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
export async function listSessions(db: Db, userId: string, now: Date): Promise<SessionRow[] | undefined> {
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

export type RotationOutcome = "rotated" | "replayed" | "reused" | "expired" | "revoked";

export interface Rotation {
  outcome: RotationOutcome;
  sessionId: string;
  userId: string;
  role: UserRole;
  status: UserStatus;
}

export interface RotationRequest {
  tokenHash: Uint8Array;
  successorHash: Uint8Array;
  successorExpiresAt: Date;
  /** The client presenting the token (a hash of its user agent and network). */
  client: Uint8Array;
  /** A token spent after this instant, by the same client, may be replayed for the same successor. */
  graceStart: Date;
  events: EventContext;
}

/**
 * Spends a refresh token and stores its successor, in one statement. Concurrent calls with the same
 * token queue on its row lock (FOR UPDATE): exactly one spends it; the others then see it spent within
 * the grace window and, if they come from the client that spent it, are told to hand out the same
 * successor. Any other presentation of a spent token is a reuse: the whole session ends (RFC 9700
 * §4.14.2). A session on the blacklist never rotates, so a rotation that raced a logout or a revocation
 * cannot keep its chain alive. `rotation` is undefined for a token that is not (or no longer) in the
 * whitelist.
 */
export async function rotateRefreshToken(
  db: Db,
  ender: SessionEnder,
  request: RotationRequest,
): Promise<{ rotation: Rotation | undefined; endedSessions: EndedSession[] }> {
  const { tokenHash, successorHash, successorExpiresAt, client, graceStart, events } = request;
  const now = events.now;
  const row = await withEvents(
    ender.ctes(
      db
        .with("presented", (q) =>
          q
            .selectFrom("refresh_tokens")
            .select(["session_id", "user_id", "used_at", "used_by", "expires_at"])
            .where("token_hash", "=", tokenHash)
            .forUpdate(),
        )
        .with("session_revoked", (q) => blacklistEntryOf(q.selectFrom("presented").select("session_id")))
        .with("spent", (q) =>
          q
            .updateTable("refresh_tokens")
            .set({ used_at: now, used_by: client })
            .where("token_hash", "=", tokenHash)
            .where("used_at", "is", null)
            .where("expires_at", ">", now)
            .where((eb) => eb.not(eb.exists(eb.selectFrom("session_revoked").select("token_id"))))
            .returning(["session_id", "user_id"]),
        )
        .with("successor", (q) =>
          q
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
            ),
        )
        .with("verdict", (q) =>
          q.selectFrom("presented").select((eb) => [
            "session_id",
            "user_id",
            eb
              .case()
              .when(eb.exists(eb.selectFrom("spent").select("session_id")))
              .then(eb.val<RotationOutcome>("rotated"))
              .when("expires_at", "<=", now)
              .then(eb.val<RotationOutcome>("expired"))
              .when(eb.exists(eb.selectFrom("session_revoked").select("token_id")))
              .then(eb.val<RotationOutcome>("revoked"))
              .when(
                eb.and([
                  eb("used_at", ">", graceStart),
                  eb("used_by", "=", client),
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
        ),
      (q) => q.selectFrom("verdict").select("session_id").where("outcome", "=", "reused"),
    ),
    events,
    [
      {
        type: "refresh_reuse_detected",
        rows: (q) =>
          q
            .selectFrom("verdict")
            .select((eb) => ["user_id", jsonBuildObject({ session_id: eb.ref("session_id") }).as("row_details")])
            .where("outcome", "=", "reused"),
      },
      {
        type: "refresh_replayed",
        rows: (q) =>
          q
            .selectFrom("verdict")
            .select((eb) => ["user_id", jsonBuildObject({ session_id: eb.ref("session_id") }).as("row_details")])
            .where("outcome", "=", "replayed"),
      },
    ],
  )
    .with("one", (q) => q.selectNoFrom((eb) => eb.lit(1).as("one")))
    .selectFrom("one")
    .leftJoin("verdict", (join) => join.onTrue())
    .leftJoin("users", "users.id", "verdict.user_id")
    .select(["verdict.outcome", "verdict.session_id", "users.id as user_id", "users.role", "users.status"])
    .select(() => ender.endedSessions().as("ended_sessions"))
    .executeTakeFirstOrThrow();
  const endedSessions = ender.parse(row.ended_sessions);
  const { outcome, session_id, user_id, role, status } = row;
  if (outcome === null || session_id === null || user_id === null || role === null || status === null) {
    return { rotation: undefined, endedSessions };
  }
  return { rotation: { outcome, sessionId: session_id, userId: user_id, role, status }, endedSessions };
}

/** Ends the session a live refresh token belongs to; `endedSessions` is empty when the token is unknown or expired. */
export async function endSessionOfToken(
  db: Db,
  ender: SessionEnder,
  tokenHash: Uint8Array,
  events: EventContext,
): Promise<{ endedSessions: EndedSession[] }> {
  const row = await withEvents(
    ender.ctes<DB>(db, (q) =>
      q.selectFrom("refresh_tokens").select("session_id").where("token_hash", "=", tokenHash).where("expires_at", ">", events.now),
    ),
    events,
    [
      {
        type: "logged_out",
        rows: (q) => q.selectFrom("closed").select((eb) => ["user_id", jsonBuildObject({ session_id: eb.ref("id") }).as("row_details")]),
      },
    ],
  )
    .selectNoFrom(() => ender.endedSessions().as("ended_sessions"))
    .executeTakeFirstOrThrow();
  return { endedSessions: ender.parse(row.ended_sessions) };
}

/**
 * Ends sessions of a user, chosen by `which`: one of them (by id) or all. Every ended session is
 * recorded as `session_ended`. Ending all first locks the user's row in the same transaction, so a login
 * racing it is ended too, or comes after.
 */
export async function endUserSessions(
  db: Db,
  ender: SessionEnder,
  request: { userId: string; which: { sessionId: string } | "all"; by: EndedBy; events: EventContext },
): Promise<{ userFound: boolean; endedSessions: EndedSession[] }> {
  const { userId, which, by, events } = request;
  const statement = withEvents(
    ender.ctes<DB>(db, (q) =>
      q
        .selectFrom("sessions")
        .select("id")
        .where("user_id", "=", userId)
        .where((eb) => (which === "all" ? eb.lit(true) : eb("id", "=", which.sessionId))),
    ),
    events,
    [
      {
        type: "session_ended",
        details: { by, all: which === "all" },
        rows: (q) => q.selectFrom("closed").select((eb) => ["user_id", jsonBuildObject({ session_id: eb.ref("id") }).as("row_details")]),
      },
    ],
  ).selectNoFrom((eb) => [
    eb.exists(eb.selectFrom("users").select("id").where("id", "=", userId)).as("user_found"),
    ender.endedSessions().as("ended_sessions"),
  ]);
  const [row] = await runAfter(
    db,
    db.selectFrom("users").select("id").where("id", "=", userId).forNoKeyUpdate().compile(),
    statement.compile(),
  );
  return { userFound: row?.user_found === true, endedSessions: ender.parse(row?.ended_sessions ?? []) };
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

/**
 * Sets a new password and ends every other session of the user, in one transaction after taking the
 * user's row lock (so a racing login either came first and is ended, or sees the new password); the
 * current session's refresh tokens are replaced by `freshToken`.
 */
export async function changePassword(
  db: Db,
  ender: SessionEnder,
  change: PasswordChange,
): Promise<{ changed: boolean; role: UserRole | undefined; notice: QueuedMail | undefined; endedSessions: EndedSession[] }> {
  const { userId, sessionId, verifiedHash, newHash, freshToken, notice, events } = change;
  const now = events.now;
  const statement = withEvents(
    withQueuedNotice(
      ender
        .ctes(
          db.with("changed", (q) =>
            q
              .updateTable("users")
              .set({ password_hash: newHash, updated_at: now })
              .where("id", "=", userId)
              .where("password_hash", "=", verifiedHash)
              .where("status", "=", "verified")
              // from a session still live: one ended meanwhile changes nothing
              .where((eb) => eb.exists(eb.selectFrom("sessions").select("id").where("id", "=", sessionId).where("user_id", "=", userId)))
              .returning(["id", "email", "role"]),
          ),
          (q) =>
            q.selectFrom("sessions").select("id").where("user_id", "in", q.selectFrom("changed").select("id")).where("id", "<>", sessionId),
        )
        .with("retired", (q) =>
          q
            .deleteFrom("refresh_tokens")
            .where("session_id", "=", sessionId)
            .where((eb) => eb.exists(eb.selectFrom("changed").select("id")))
            .returning("session_id"),
        )
        .with("fresh", (q) =>
          q
            .insertInto("refresh_tokens")
            .columns(["token_hash", "session_id", "user_id", "expires_at", "created_at"])
            .expression((eb) =>
              eb
                .selectFrom("changed")
                .select((eb) => [
                  eb.val(freshToken.hash).as("token_hash"),
                  eb.val(sessionId).as("session_id"),
                  "id",
                  eb.val(freshToken.expiresAt).as("expires_at"),
                  eb.val(now).as("created_at"),
                ]),
            )
            .returning("session_id"),
        ),
      { recipients: (q) => q.selectFrom("changed").select("email as to_address"), mail: notice },
    ),
    events,
    [{ type: "password_changed", rows: (q) => q.selectFrom("changed").select(["id as user_id", noRowDetails()]) }],
  ).selectNoFrom((eb) => [
    eb.selectFrom("changed").select("role").as("role"),
    eb.exists(eb.selectFrom("fresh").select("session_id")).as("refreshed"),
    queuedMail("notice").as("notice"),
    ender.endedSessions().as("ended_sessions"),
  ]);
  const [row] = await runAfter(
    db,
    db.selectFrom("users").select("id").where("id", "=", userId).forNoKeyUpdate().compile(),
    statement.compile(),
  );
  return {
    changed: row?.refreshed === true,
    role: row?.role ?? undefined,
    notice: row?.notice ?? undefined,
    endedSessions: ender.parse(row?.ended_sessions ?? []),
  };
}
