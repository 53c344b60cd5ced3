import { type RevokedSessionRow, SESSION_TOKEN_PREFIX } from "../db/sessions.ts";

// The edge copies of the blacklist. Postgres (revoked_tokens) is the record; the edge answers the
// question on every authenticated request without a round trip to the database, from two places:
// - KV, shared by every location, but eventually consistent: a location that recently read a key as
//   missing keeps that answer for up to a minute (KV caches misses too), even after a write;
// - the Cache API of this location, which sees a revocation made here at once.

const KV_MIN_TTL_SECONDS = 60;

// Only a cache key: nothing is ever fetched from this host.
const LOCAL_CACHE_ORIGIN = "https://revocations.coffee-shop.internal/";

/** The blacklist id of a session, in KV as in Postgres: every token of the session carries it. */
function sessionTokenId(sessionId: string): string {
  return `${SESSION_TOKEN_PREFIX}${sessionId}`;
}

function localCacheKey(sessionId: string): Request {
  return new Request(`${LOCAL_CACHE_ORIGIN}${sessionTokenId(sessionId)}`);
}

export async function isSessionRevoked(kv: KVNamespace, sessionId: string): Promise<boolean> {
  const [here, everywhere] = await Promise.all([
    caches.default.match(localCacheKey(sessionId)),
    kv.get(sessionTokenId(sessionId)),
  ]);
  return here !== undefined || everywhere !== null;
}

/** Records revoked sessions at the edge for as long as a token of theirs could still be presented. */
export async function cacheRevokedSessions(kv: KVNamespace, sessions: RevokedSessionRow[], now: Date): Promise<void> {
  await Promise.all(
    sessions.flatMap((session) => {
      const remaining = Math.max(KV_MIN_TTL_SECONDS, Math.ceil((session.expiresAt.getTime() - now.getTime()) / 1000));
      return [
        kv.put(sessionTokenId(session.sessionId), "1", { expirationTtl: remaining }),
        caches.default.put(
          localCacheKey(session.sessionId),
          new Response("revoked", { headers: { "Cache-Control": `max-age=${remaining}` } }),
        ),
      ];
    }),
  );
}
