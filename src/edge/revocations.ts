// The edge's copy of the blacklist. Postgres keeps the record (src/db/revocations.ts); the edge answers
// "is this session over?" on every authenticated request without a round trip to the database, from two
// copies written right after the statement that ended the session:
// - KV, shared by every location, but eventually consistent: a location that recently read a key as
//   missing keeps that answer for up to a minute (KV caches misses too), even after a write;
// - the Cache API of this location, which sees a revocation made here at once.
// A statement can only end sessions with a SessionEnder, and only `endingSessions` hands one out, after
// which it writes both edge copies: no caller can do one without the other.
import type { Db } from "../db/client.ts";
import { type EndedSession, recentRevocations, SessionEnder } from "../db/revocations.ts";
import { describeError, type Logger } from "../log.ts";

/**
 * Where the edge copies live: in production a Workers KV namespace and this location's Cache API. Only
 * what this module uses of them, so a test can hand in stores that fail.
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

/** The edge stores in production: the KV namespace bound as REVOCATIONS and this location's default cache. */
export function productionEdge(env: Env): RevocationEdge {
  return {
    kv: env.REVOCATIONS,
    // looked up when first used: requests that never check a session (and the OpenAPI document, which is
    // also built on Node, where there is no Cache API) need none
    get cache() {
      return caches.default;
    },
  };
}

const KV_MIN_TTL_SECONDS = 60;

// Only a cache key: nothing is ever fetched from this host.
const LOCAL_CACHE_ORIGIN = "https://revocations.coffee-shop.internal/";

function edgeKey(sessionId: string): string {
  return `session:${sessionId}`;
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
  if (here.status === "rejected") throw new EdgeUnavailableError(describeError(here.reason));
  if (everywhere.status === "rejected") throw new EdgeUnavailableError(describeError(everywhere.reason));
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
  const sessions = await recentRevocations(db, window);
  await recordAtEdge(edge, sessions, window.now);
  return sessions.length;
}
