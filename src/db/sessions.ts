import { blacklistEntryOf, type EndedSession, type SessionEnder } from "../revocation.ts";
import type { UserRole, UserStatus } from "../schemas/user.ts";
import type { Db } from "./client.ts";
import type { DB } from "./schema.ts";

export interface NewSession {
  userId: string;
  /** The password hash the login was checked against: if it changed since, the login is void. */
  verifiedHash: string;
  sessionId: string;
  tokenHash: Uint8Array;
  expiresAt: Date;
  now: Date;
  /** Replaces an outdated password hash, only if it is still the one that was verified. */
  rehash?: string | undefined;
}

/**
 * Starts a session for a user whose password was just checked, and returns the role and status its
 * tokens must carry, as this statement sees them under the user's row lock (FOR SHARE): a role or
 * status change racing the login either commits first, and is seen here, or waits for this statement
 * and then ends the session it started. Only a verified account gets a session. Returns undefined when
 * the user is gone or the password changed since it was checked.
 */
export async function startSession(db: Db, session: NewSession): Promise<{ role: UserRole; status: UserStatus; started: boolean } | undefined> {
  const { userId, verifiedHash, sessionId, tokenHash, expiresAt, now, rehash } = session;
  return db
    .with("owner", (q) =>
      q.selectFrom("users").select(["id", "role", "status"]).where("id", "=", userId).where("password_hash", "=", verifiedHash).forShare(),
    )
    .with("token", (q) =>
      q
        .insertInto("refresh_tokens")
        .columns(["token_hash", "session_id", "user_id", "expires_at", "created_at"])
        .expression((eb) =>
          eb
            .selectFrom("owner")
            .select((eb) => [
              eb.val(tokenHash).as("token_hash"),
              eb.val(sessionId).as("session_id"),
              "id",
              eb.val(expiresAt).as("expires_at"),
              eb.val(now).as("created_at"),
            ])
            .where("status", "=", "verified"),
        )
        .returning("user_id"),
    )
    .with("rehashed", (q) =>
      q
        .updateTable("users")
        .set({ password_hash: rehash, updated_at: now })
        .where("id", "=", userId)
        .where((eb) => (rehash === undefined ? eb.lit(false) : eb.exists(eb.selectFrom("token").select("user_id")))),
    )
    .selectFrom("owner")
    .select((eb) => ["role", "status", eb.exists(eb.selectFrom("token").select("user_id")).as("started")])
    .executeTakeFirst()
    .then((row) => row && { role: row.role, status: row.status, started: row.started === true });
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
  now: Date;
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
  const { tokenHash, successorHash, successorExpiresAt, client, graceStart, now } = request;
  const row = await ender
    .ctes(
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
  now: Date,
): Promise<{ endedSessions: EndedSession[] }> {
  const row = await ender
    .ctes<DB>(db, (q) =>
      q.selectFrom("refresh_tokens").select("session_id").where("token_hash", "=", tokenHash).where("expires_at", ">", now),
    )
    .selectNoFrom(() => ender.endedSessions().as("ended_sessions"))
    .executeTakeFirstOrThrow();
  return { endedSessions: ender.parse(row.ended_sessions) };
}
