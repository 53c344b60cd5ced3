// The edge's copy of the blacklist. Postgres keeps the record (src/db/revocations.ts); the edge answers
// "is this token's session over?" on every authenticated request without a round trip to the database,
// from an entry per ended session and one per user whose every session ended, in two copies written
// right after the statement that ended them:
// - KV, shared by every location, but eventually consistent: a location that recently read a key as
//   missing keeps that answer for up to a minute (KV caches misses too), even after a write;
// - the Cache API of this location, which sees a revocation made here at once.
// A statement can only end sessions with a SessionEnder, and only `endingSessions` hands one out, after
// which it writes both edge copies: no caller can do one without the other.
import type { Db } from "../db/client.ts";
import type { Config } from "../config.ts";
import { type Endings, recentEndings, SessionEnder } from "../db/revocations.ts";
import { describeError, type Logger } from "../log.ts";

/**
 * Where the edge copies live: in production a Workers KV namespace and this location's Cache API. Only
 * what this module uses of them, so a test can hand in stores that fail.
 */
export interface RevocationEdge {
  kv: {
    /** KV's bulk read: several keys in one operation (a missing key maps to null). */
    get(keys: string[], type: "text"): Promise<Map<string, string | null>>;
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

/** The edge's entries: one per ended session, and one per user whose every session ended (its generation). */
type EdgeEntry = { key: string; value: string };

function entriesOf(endings: Endings): EdgeEntry[] {
  return [
    ...endings.sessions.map((session) => ({ key: sessionKey(session.sessionId), value: "ended" })),
    ...endings.generations.map((ended) => ({ key: userKey(ended.userId), value: String(ended.generation) })),
  ];
}

function sessionKey(sessionId: string): string {
  return `session:${sessionId}`;
}

function userKey(userId: string): string {
  return `user:${userId}`;
}

function localCacheKey(key: string): Request {
  return new Request(`${LOCAL_CACHE_ORIGIN}${key}`);
}

/**
 * Writes the entries to both stores for as long as an access token issued before them can be presented:
 * no access token of an ended session is issued after its end, so one access-token lifetime is enough.
 */
async function recordAtEdge(edge: RevocationEdge, endings: Endings, accessTokenSeconds: number): Promise<void> {
  const ttl = Math.max(KV_MIN_TTL_SECONDS, accessTokenSeconds);
  await Promise.all(
    entriesOf(endings).flatMap(({ key, value }) => [
      edge.kv.put(key, value, { expirationTtl: ttl }),
      edge.cache.put(localCacheKey(key), new Response(value, { headers: { "Cache-Control": `max-age=${ttl}` } })),
    ]),
  );
}

/** What ending sessions needs from the request: the edge, the clock, the token lifetimes and a logger. */
export interface EndingContext {
  edge: RevocationEdge;
  now: Date;
  config: Pick<Config, "ACCESS_TOKEN_TTL_SECONDS" | "REFRESH_TOKEN_TTL_SECONDS">;
  log: Logger;
}

/**
 * Runs a statement that may end sessions, then records what it ended at the edge. Postgres decided: if the
 * edge cannot be written, the failure is logged and the cron's re-copy (`recopyRecentEndings`) repairs it
 * within minutes; the request does not fail for it.
 */
export async function endingSessions<T extends { endings: Endings }>(
  context: EndingContext,
  statement: (ender: SessionEnder) => Promise<T>,
): Promise<T> {
  const { now, config } = context;
  const result = await statement(new SessionEnder(now, new Date(now.getTime() + config.REFRESH_TOKEN_TTL_SECONDS * 1000)));
  try {
    await recordAtEdge(context.edge, result.endings, config.ACCESS_TOKEN_TTL_SECONDS);
  } catch (error) {
    context.log.error("revocation not copied to the edge; the cron will copy it again", {
      sessions: result.endings.sessions.length,
      users: result.endings.generations.length,
      error: describeError(error),
    });
  }
  return result;
}

/** The edge stores could not say whether a token is revoked. */
export class EdgeUnavailableError extends Error {
  override name = "EdgeUnavailableError";
}

/** What an access token says of the session it belongs to. */
export interface TokenSession {
  userId: string;
  sessionId: string;
  generation: number;
}

/** This location's cache: the entry's value, or null. */
async function cached(edge: RevocationEdge, key: string): Promise<string | null> {
  const response = await edge.cache.match(localCacheKey(key));
  return response ? response.text() : null;
}

/**
 * Whether the token's session has ended, by itself or with every session of its user, as far as this
 * location can tell without the database. Both entries are read from KV in one bulk read and from this
 * location's cache one by one, all at once. Any store saying "ended" is enough; if a store fails and none
 * says "ended", nobody can tell, and this throws: a token that may be revoked is never honoured (the caller
 * answers 503).
 */
export async function isAccessRevoked(edge: RevocationEdge, token: TokenSession): Promise<boolean> {
  const session = sessionKey(token.sessionId);
  const user = userKey(token.userId);
  const [fromKv, sessionCached, userCached] = await Promise.allSettled([
    edge.kv.get([session, user], "text"),
    cached(edge, session),
    cached(edge, user),
  ]);
  const ended = (value: string | null | undefined) => value !== null && value !== undefined;
  const newerGeneration = (value: string | null | undefined) => ended(value) && Number(value) > token.generation;
  if (fromKv.status === "fulfilled" && (ended(fromKv.value.get(session)) || newerGeneration(fromKv.value.get(user)))) return true;
  if (sessionCached.status === "fulfilled" && ended(sessionCached.value)) return true;
  if (userCached.status === "fulfilled" && newerGeneration(userCached.value)) return true;
  const failed = [fromKv, sessionCached, userCached].find((answer) => answer.status === "rejected");
  if (failed) throw new EdgeUnavailableError(describeError(failed.reason));
  return false;
}

/**
 * Copies what ended since `since` to the edge again: this repairs an edge write that failed after Postgres
 * had committed. Newest first and at most `limit` of each kind, so one run stays within a Worker's
 * subrequest budget. Returns how many entries it copied.
 */
export async function recopyRecentEndings(
  db: Db,
  edge: RevocationEdge,
  window: { since: Date; limit: number; accessTokenSeconds: number },
): Promise<number> {
  const endings = await recentEndings(db, window);
  await recordAtEdge(edge, endings, window.accessTokenSeconds);
  return endings.sessions.length + endings.generations.length;
}
