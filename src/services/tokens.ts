// The one minting point: every access and refresh token the API answers is made here, from a session's standing
// as the statement that wrote or renewed the session returned it (src/db/sessions.ts). No caller computes a
// generation, `amr` or `auth_time`.
import { issueAccessToken, newRefreshToken } from "../auth/tokens.ts";
import type { FreshSession, SessionProof, SessionStanding } from "../db/sessions.ts";
import type { AccessToken } from "../schemas/mfa.ts";
import type { SignedIn, TokenPair } from "../schemas/tokens.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";

/** An access token of a session, carrying its standing. */
export async function mintAccessToken(ctx: ServiceContext, standing: SessionStanding): Promise<AccessToken> {
  const access = await issueAccessToken(ctx.config, standing, ctx.now);
  return { access_token: access.token, token_type: "bearer", expires_in: access.expiresIn };
}

/** An access token and the refresh token the session's statement stored (by its hash). */
export async function mintTokens(ctx: ServiceContext, standing: SessionStanding, refreshToken: string): Promise<TokenPair> {
  return { ...(await mintAccessToken(ctx, standing)), refresh_token: refreshToken };
}

/** A sign-in's answer: the token pair, and the device token the client keeps for its next sign-in on this device. */
export async function mintSignIn(
  ctx: ServiceContext,
  standing: SessionStanding,
  refreshToken: string,
  deviceToken: string,
): Promise<SignedIn> {
  return { ...(await mintTokens(ctx, standing, refreshToken)), device_token: deviceToken };
}

/**
 * A session about to start: a new id, its first refresh token (the token for the answer, its hash for the
 * statement), where the client starts it from, and how it was proved.
 */
export async function newSession(ctx: ServiceContext, proof: SessionProof): Promise<{ fresh: FreshSession; refreshToken: string }> {
  const refresh = await newRefreshToken();
  const fresh = {
    id: crypto.randomUUID(),
    tokenHash: refresh.hash,
    expiresAt: secondsAfter(ctx.now, ctx.config.REFRESH_TOKEN_TTL_SECONDS),
    userAgent: ctx.client.userAgent,
    clientAddress: ctx.client.address ?? null,
    proof,
  };
  return { fresh, refreshToken: refresh.token };
}
