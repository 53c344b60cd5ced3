import { issueAccessToken, type TokenSubject } from "../auth/tokens.ts";
import type { FreshSession } from "../db/sessions.ts";
import type { AccessToken } from "../schemas/mfa.ts";
import type { TokenPair } from "../schemas/tokens.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";

/** An access token for a session. */
export async function accessToken(ctx: ServiceContext, subject: TokenSubject): Promise<AccessToken> {
  const access = await issueAccessToken(ctx.config, subject, ctx.now);
  return { access_token: access.token, token_type: "bearer", expires_in: access.expiresIn };
}

/** An access token and a refresh token for a session. */
export async function tokenPair(ctx: ServiceContext, subject: TokenSubject, refreshToken: string): Promise<TokenPair> {
  return { ...(await accessToken(ctx, subject)), refresh_token: refreshToken };
}

/** A session about to start: a new id, its first refresh token (hashed), and where the client starts it from. */
export function freshSession(ctx: ServiceContext, tokenHash: Uint8Array): Omit<FreshSession, "amr"> {
  return {
    id: crypto.randomUUID(),
    tokenHash,
    expiresAt: secondsAfter(ctx.now, ctx.config.REFRESH_TOKEN_TTL_SECONDS),
    userAgent: ctx.client.userAgent,
    clientAddress: ctx.client.address ?? null,
  };
}
