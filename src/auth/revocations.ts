import { type RevokedSessionRow, SESSION_TOKEN_PREFIX } from "../db/sessions.ts";

// The edge copy of the blacklist. Postgres (revoked_tokens) is the record; KV answers the question on
// every authenticated request without a round trip to the database.

const KV_MIN_TTL_SECONDS = 60;

/** The blacklist id of a session, in KV as in Postgres: every token of the session carries it. */
function sessionTokenId(sessionId: string): string {
  return `${SESSION_TOKEN_PREFIX}${sessionId}`;
}

export async function isSessionRevoked(kv: KVNamespace, sessionId: string): Promise<boolean> {
  return (await kv.get(sessionTokenId(sessionId))) !== null;
}

/** Caches revoked sessions in KV for as long as a token of theirs could still be presented. */
export async function cacheRevokedSessions(kv: KVNamespace, sessions: RevokedSessionRow[], now: Date): Promise<void> {
  await Promise.all(
    sessions.map((session) => {
      const remaining = Math.ceil((session.expiresAt.getTime() - now.getTime()) / 1000);
      return kv.put(sessionTokenId(session.sessionId), "1", {
        expirationTtl: Math.max(KV_MIN_TTL_SECONDS, remaining),
      });
    }),
  );
}
