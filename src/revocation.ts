// The one way to end sessions. Postgres keeps the record: a session ends when its refresh tokens leave
// the whitelist and the session joins the blacklist (revoked_tokens), in the statement of whatever
// ended it. The edge answers "is this session over?" on every authenticated request without a round
// trip to the database, from two copies written right after that statement:
// - KV, shared by every location, but eventually consistent: a location that recently read a key as
//   missing keeps that answer for up to a minute (KV caches misses too), even after a write;
// - the Cache API of this location, which sees a revocation made here at once.
// A statement can only end sessions with a SessionEnder, and only `endingSessions` hands one out, after
// which it writes both edge copies: no caller can do one without the other.
import { expressionBuilder, type OperandExpression, type QueryCreator } from "kysely";
import { jsonArrayFrom } from "kysely/helpers/postgres";
import type { Db } from "./db/client.ts";
import { describeError, type Logger } from "./log.ts";
import { partBuilder, QueryRows } from "./db/statement-parts.ts";

export interface EndedSession {
  sessionId: string;
  /** When the session's last refresh token would have expired: no token of it is valid after. */
  expiresAt: Date;
}

/**
 * Where the edge copies of the blacklist live: in production a Workers KV namespace and this location's
 * Cache API (see bindings.ts). Only what this module uses of them, so a test can hand in stores that fail.
 */
export interface RevocationEdge {
  kv: {
    get(key: string): Promise<string | null>;
    put(key: string, value: string, options: { expirationTtl: number }): Promise<void>;
  };
  cache: {
    match(request: Request): Promise<Response | undefined>;
    put(request: Request, response: Response): Promise<void>;
  };
}

/** Sessions are blacklisted under this prefix and their id: tokens carry their session, not an id of their own. */
const SESSION_TOKEN_PREFIX = "session:";

const KV_MIN_TTL_SECONDS = 60;

// Only a cache key: nothing is ever fetched from this host.
const LOCAL_CACHE_ORIGIN = "https://revocations.coffee-shop.internal/";

interface SessionRow {
  session_id: string;
  expires_at: Date;
}

type PartTables = { revoked: SessionRow; ended: SessionRow };

const part = partBuilder<PartTables>();

/** The blacklist id of a session, in SQL: `session:` and the session's id. */
function blacklistId(sessionId: OperandExpression<string>) {
  const eb = expressionBuilder<PartTables, never>();
  return eb(eb.cast<string>(eb.val(SESSION_TOKEN_PREFIX), "text"), "||", eb.cast<string>(sessionId, "text"));
}

/**
 * Selects the blacklist entry of the session that `sessionId` yields, if that session has ended: a
 * statement that would extend a session (a rotation) checks this, so a session ended by a concurrent
 * statement cannot live on through it.
 */
export function blacklistEntryOf(sessionId: OperandExpression<string>) {
  return part.selectFrom("revoked_tokens").select("token_id").where("token_id", "=", blacklistId(sessionId));
}

/** Takes part in one statement that ends sessions; see `endingSessions`. */
class SessionEnder {
  readonly #now: Date;

  constructor(now: Date) {
    this.#now = now;
  }

  /**
   * Adds the common table expressions that end the sessions `sessionIds` selects: `revoked` (their
   * refresh tokens, deleted), `ended` (one row per session ended), `closed` (their rows in sessions,
   * deleted) and `blacklisted`. Each session stays on the blacklist until its last token would have
   * expired.
   */
  ctes<D>(qc: QueryCreator<D>, sessionIds: (q: QueryCreator<D>) => OperandExpression<string>) {
    return qc
      .with(
        "revoked",
        (q) =>
          new QueryRows(part.deleteFrom("refresh_tokens").where("session_id", "in", sessionIds(q)).returning(["session_id", "expires_at"])),
      )
      .with("ended", () =>
        part
          .selectFrom("revoked")
          .select((eb) => ["session_id", eb.fn.max("expires_at").as("expires_at")])
          .groupBy("session_id"),
      )
      .with(
        "closed",
        () =>
          new QueryRows(
            part.deleteFrom("sessions").where("id", "in", part.selectFrom("ended").select("session_id")).returning(["id", "user_id"]),
          ),
      )
      .with(
        "blacklisted",
        () =>
          new QueryRows(
            part
              .insertInto("revoked_tokens")
              .columns(["token_id", "expires_at", "revoked_at"])
              .expression((eb) =>
                eb
                  .selectFrom("ended")
                  .select((eb) => [blacklistId(eb.ref("session_id")).as("token_id"), "expires_at", eb.val(this.#now).as("revoked_at")]),
              )
              .onConflict((oc) =>
                oc.column("token_id").doUpdateSet((eb) => ({
                  expires_at: eb.fn<Date>("greatest", ["revoked_tokens.expires_at", "excluded.expires_at"]),
                })),
              ),
          ),
      );
  }

  /** The sessions the statement ended, as a JSON array to select in its result. */
  endedSessions() {
    return jsonArrayFrom(part.selectFrom("ended").select(["session_id", "expires_at"]));
  }

  /** Reads back what `endedSessions` selected. */
  parse(rows: { session_id: string; expires_at: string }[]): EndedSession[] {
    return rows.map((row) => ({ sessionId: row.session_id, expiresAt: new Date(row.expires_at) }));
  }
}

export type { SessionEnder };

/**
 * Runs a statement that may end sessions, then records every session it ended at the edge, for as long
 * as a token of theirs could still be presented. Postgres decided: if the edge cannot be written, the
 * failure is logged and the cron's re-copy (`recopyRecentRevocations`) repairs it within minutes; the
 * request does not fail for it.
 */
export async function endingSessions<T extends { endedSessions: EndedSession[] }>(
  context: { edge: RevocationEdge; now: Date; log: Logger },
  statement: (ender: SessionEnder) => Promise<T>,
): Promise<T> {
  const result = await statement(new SessionEnder(context.now));
  try {
    await recordAtEdge(context.edge, result.endedSessions, context.now);
  } catch (error) {
    context.log.error("revocation not copied to the edge; the cron will copy it again", {
      sessions: result.endedSessions.length,
      error: describeError(error),
    });
  }
  return result;
}

/** The edge stores could not say whether a session has ended. */
export class EdgeUnavailableError extends Error {
  override name = "EdgeUnavailableError";
}

/**
 * Whether the session has ended, as far as this location can tell without the database. Either store
 * saying "ended" is enough; if a store fails and the other does not say "ended", nobody can tell, and
 * this throws: a token that may be revoked is never honoured (the caller answers 503).
 */
export async function isSessionRevoked(edge: RevocationEdge, sessionId: string): Promise<boolean> {
  const [here, everywhere] = await Promise.allSettled([edge.cache.match(localCacheKey(sessionId)), edge.kv.get(edgeKey(sessionId))]);
  const revoked =
    (here.status === "fulfilled" && here.value !== undefined) || (everywhere.status === "fulfilled" && everywhere.value !== null);
  if (revoked) return true;
  if (here.status === "rejected" || everywhere.status === "rejected") {
    throw new EdgeUnavailableError(
      describeError(here.status === "rejected" ? here.reason : everywhere.status === "rejected" ? everywhere.reason : ""),
    );
  }
  return false;
}

/**
 * Copies the sessions blacklisted since `since`, whose tokens could still be presented, to the edge
 * again: this repairs an edge write that failed after Postgres had committed. Newest first and at most
 * `limit`, so one run stays within a Worker's subrequest budget. Returns how many it copied.
 */
export async function recopyRecentRevocations(
  db: Db,
  edge: RevocationEdge,
  window: { since: Date; now: Date; limit: number },
): Promise<number> {
  const rows = await db
    .selectFrom("revoked_tokens")
    .select(["token_id", "expires_at"])
    .where("token_id", "like", `${SESSION_TOKEN_PREFIX}%`)
    .where("revoked_at", ">", window.since)
    .where("expires_at", ">", window.now)
    .orderBy("revoked_at", "desc")
    .limit(window.limit)
    .execute();
  const sessions = rows.map((row) => ({ sessionId: row.token_id.slice(SESSION_TOKEN_PREFIX.length), expiresAt: row.expires_at }));
  await recordAtEdge(edge, sessions, window.now);
  return sessions.length;
}

function edgeKey(sessionId: string): string {
  return `${SESSION_TOKEN_PREFIX}${sessionId}`;
}

function localCacheKey(sessionId: string): Request {
  return new Request(`${LOCAL_CACHE_ORIGIN}${edgeKey(sessionId)}`);
}

async function recordAtEdge(edge: RevocationEdge, sessions: EndedSession[], now: Date): Promise<void> {
  await Promise.all(
    sessions.flatMap((session) => {
      const remaining = Math.max(KV_MIN_TTL_SECONDS, Math.ceil((session.expiresAt.getTime() - now.getTime()) / 1000));
      return [
        edge.kv.put(edgeKey(session.sessionId), "1", { expirationTtl: remaining }),
        edge.cache.put(localCacheKey(session.sessionId), new Response("revoked", { headers: { "Cache-Control": `max-age=${remaining}` } })),
      ];
    }),
  );
}
