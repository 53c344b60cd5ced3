import { type RawBuilder, sql } from "kysely";
import type { Db } from "./client.ts";
import type { UserRole, UserStatus } from "./schema.ts";

/** Sessions are blacklisted under this prefix and their id: tokens carry the session, not their own id. */
export const SESSION_TOKEN_PREFIX = "session:";

export interface RevokedSessionRow {
  sessionId: string;
  expiresAt: Date;
}

export interface RevokedSessionJson {
  session_id: string;
  expires_at: string;
}

export function revokedSessionFromJson(row: RevokedSessionJson): RevokedSessionRow {
  return { sessionId: row.session_id, expiresAt: new Date(row.expires_at) };
}

/**
 * CTEs that end the sessions selected by `sessionIds`: their refresh tokens leave the whitelist and
 * the sessions join the blacklist until their last token would have expired. The CTE `ended` holds
 * (session_id, expires_at) of each session ended, to be cached in KV.
 */
export function revokeSessionsCtes(sessionIds: RawBuilder<unknown>, now: Date): RawBuilder<unknown> {
  return sql`
    revoked as (delete from refresh_tokens where session_id in (${sessionIds}) returning session_id, expires_at),
    ended as (select session_id, max(expires_at) as expires_at from revoked group by session_id),
    blacklisted as (
      insert into revoked_tokens (token_id, expires_at, revoked_at)
      select ${SESSION_TOKEN_PREFIX} || session_id, expires_at, ${now} from ended
      on conflict (token_id) do update set expires_at = greatest(revoked_tokens.expires_at, excluded.expires_at)
    )`;
}

/** The sessions ended by `revokeSessionsCtes`, as a JSON array for the statement's result. */
export const ENDED_AS_JSON = sql.raw(`coalesce((select json_agg(ended) from ended), '[]')`);

export interface NewSession {
  userId: string;
  sessionId: string;
  tokenHash: Uint8Array;
  expiresAt: Date;
  now: Date;
  /** Replaces an outdated password hash, only if it is still the one that was verified. */
  rehash?: { from: string; to: string } | undefined;
}

/** Returns false when the user vanished between the password check and this write. */
export async function startSession(db: Db, session: NewSession): Promise<boolean> {
  const { userId, sessionId, tokenHash, expiresAt, now, rehash } = session;
  const rehashCte = rehash
    ? sql`, rehashed as (update users set password_hash = ${rehash.to}, updated_at = ${now}
                         where id = ${userId} and password_hash = ${rehash.from})`
    : sql``;
  const { rows } = await sql<{ user_id: string }>`
    with owner as (select id from users where id = ${userId}),
    token as (
      insert into refresh_tokens (token_hash, session_id, user_id, expires_at, created_at)
      select ${tokenHash}, ${sessionId}, id, ${expiresAt}, ${now} from owner
      returning user_id
    )
    ${rehashCte}
    select user_id from token`.execute(db);
  return rows.length > 0;
}

export type RotationOutcome = "rotated" | "replayed" | "reused" | "expired";

export interface Rotation {
  outcome: RotationOutcome;
  sessionId: string;
  userId: string;
  role: UserRole;
  status: UserStatus;
  revokedSessions: RevokedSessionRow[];
}

export interface RotationRequest {
  tokenHash: Uint8Array;
  successorHash: Uint8Array;
  successorExpiresAt: Date;
  /** A token spent after this instant may be replayed for the same successor. */
  graceStart: Date;
  now: Date;
}

/**
 * Spends a refresh token and stores its successor, in one statement. Concurrent calls with the same
 * token queue on its row lock (FOR UPDATE): exactly one spends it; the others then see it spent
 * within the grace window and are told to hand out the same successor. A token spent earlier than
 * that, or whose successor has itself been spent, is a reuse: the whole session ends.
 * Returns undefined for a token that is not (or no longer) in the whitelist.
 */
export async function rotateRefreshToken(db: Db, request: RotationRequest): Promise<Rotation | undefined> {
  const { tokenHash, successorHash, successorExpiresAt, graceStart, now } = request;
  const { rows } = await sql<{
    outcome: RotationOutcome;
    session_id: string;
    user_id: string;
    role: UserRole;
    status: UserStatus;
    revoked_sessions: RevokedSessionJson[];
  }>`
    with presented as (
      select session_id, user_id, used_at, expires_at from refresh_tokens where token_hash = ${tokenHash} for update
    ),
    spent as (
      update refresh_tokens set used_at = ${now}
      where token_hash = ${tokenHash} and used_at is null and expires_at > ${now}
      returning session_id, user_id
    ),
    successor as (
      insert into refresh_tokens (token_hash, session_id, user_id, expires_at, created_at)
      select ${successorHash}, session_id, user_id, ${successorExpiresAt}, ${now} from spent
    ),
    verdict as (
      select p.session_id, p.user_id,
        case
          when exists (select 1 from spent) then 'rotated'
          when p.expires_at <= ${now} then 'expired'
          when p.used_at > ${graceStart} and not exists (
            select 1 from refresh_tokens s where s.token_hash = ${successorHash} and s.used_at is not null
          ) then 'replayed'
          else 'reused'
        end as outcome
      from presented p
    ),
    ${revokeSessionsCtes(sql`select session_id from verdict where outcome = 'reused'`, now)}
    select v.outcome, v.session_id, u.id as user_id, u.role, u.status, ${ENDED_AS_JSON} as revoked_sessions
    from verdict v join users u on u.id = v.user_id`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  return {
    outcome: row.outcome,
    sessionId: row.session_id,
    userId: row.user_id,
    role: row.role,
    status: row.status,
    revokedSessions: row.revoked_sessions.map(revokedSessionFromJson),
  };
}

/** Ends the session a live refresh token belongs to; empty when the token is unknown or expired. */
export async function endSessionOfToken(db: Db, tokenHash: Uint8Array, now: Date): Promise<RevokedSessionRow[]> {
  const { rows } = await sql<{ revoked_sessions: RevokedSessionJson[] }>`
    with ${revokeSessionsCtes(
      sql`select session_id from refresh_tokens where token_hash = ${tokenHash} and expires_at > ${now}`,
      now,
    )}
    select ${ENDED_AS_JSON} as revoked_sessions`.execute(db);
  return (rows[0]?.revoked_sessions ?? []).map(revokedSessionFromJson);
}

/**
 * Sessions blacklisted since `since` whose tokens could still be presented, to copy to the edge again;
 * newest first and at most `limit`, so one cron run stays within a Worker's subrequest budget.
 */
export async function recentlyRevokedSessions(db: Db, since: Date, now: Date, limit: number): Promise<RevokedSessionRow[]> {
  const rows = await db
    .selectFrom("revoked_tokens")
    .select(["token_id", "expires_at"])
    .where("token_id", "like", `${SESSION_TOKEN_PREFIX}%`)
    .where("revoked_at", ">", since)
    .where("expires_at", ">", now)
    .orderBy("revoked_at", "desc")
    .limit(limit)
    .execute();
  return rows.map((row) => ({ sessionId: row.token_id.slice(SESSION_TOKEN_PREFIX.length), expiresAt: new Date(row.expires_at) }));
}
