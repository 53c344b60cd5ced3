// The edge copy of the blacklist. Postgres (revoked_tokens) is the record; KV answers the question on
// every authenticated request without a round trip to the database.

const KV_MIN_TTL_SECONDS = 60;

export interface RevokedSession {
  sessionId: string;
  expiresAt: Date;
}

/** The blacklist id of a session: every access and refresh token of the session carries it. */
export function sessionTokenId(sessionId: string): string {
  return `session:${sessionId}`;
}

export async function isSessionRevoked(kv: KVNamespace, sessionId: string): Promise<boolean> {
  return (await kv.get(sessionTokenId(sessionId))) !== null;
}

/** Caches revoked sessions in KV for as long as a token of theirs could still be presented. */
export async function cacheRevokedSessions(kv: KVNamespace, sessions: RevokedSession[], now: Date): Promise<void> {
  await Promise.all(
    sessions.map((session) => {
      const remaining = Math.ceil((session.expiresAt.getTime() - now.getTime()) / 1000);
      return kv.put(sessionTokenId(session.sessionId), "1", {
        expirationTtl: Math.max(KV_MIN_TTL_SECONDS, remaining),
      });
    }),
  );
}
