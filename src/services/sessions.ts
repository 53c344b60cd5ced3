import { hashPassword, spendPasswordCheckTime, verifyPassword } from "../auth/passwords.ts";
import { issueAccessToken, newRefreshToken, refreshTokenHash, successorOf } from "../auth/tokens.ts";
import { endSessionOfToken, rotateRefreshToken, startSession } from "../db/sessions.ts";
import { findLoginCandidate } from "../db/users.ts";
import { ApiError } from "../errors.ts";
import { endingSessions } from "../revocation.ts";
import type { TokenPair } from "../schemas/tokens.ts";
import type { UserRole } from "../schemas/user.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";

async function tokenPair(
  ctx: ServiceContext,
  subject: { userId: string; role: UserRole; sessionId: string },
  refreshToken: string,
): Promise<TokenPair> {
  const access = await issueAccessToken(ctx.config, subject, ctx.now);
  return { access_token: access.token, refresh_token: refreshToken, token_type: "bearer", expires_in: access.expiresIn };
}

const wrongCredentials = () => new ApiError("invalid_credentials", "The email or password is wrong.");

/**
 * Two round trips: read the hash, then write the session. An unknown email spends the same password
 * work as a wrong password, and an unverified account is only named after the password proved right.
 */
export async function login(ctx: ServiceContext, input: { email: string; password: string }): Promise<TokenPair> {
  const candidate = await findLoginCandidate(ctx.db, input.email);
  if (!candidate) {
    await spendPasswordCheckTime(input.password);
    throw wrongCredentials();
  }
  const { valid, needsRehash } = await verifyPassword(input.password, candidate.password_hash);
  if (!valid) throw wrongCredentials();
  if (candidate.status !== "verified") {
    throw new ApiError("email_not_verified", "Verify your email address first: use the code we sent you.");
  }
  const sessionId = crypto.randomUUID();
  const refresh = await newRefreshToken();
  const started = await startSession(ctx.db, {
    userId: candidate.id,
    sessionId,
    tokenHash: refresh.hash,
    expiresAt: secondsAfter(ctx.now, ctx.config.REFRESH_TOKEN_TTL_SECONDS),
    now: ctx.now,
    rehash: needsRehash ? { from: candidate.password_hash, to: await hashPassword(input.password) } : undefined,
  });
  if (!started) throw wrongCredentials();
  return tokenPair(ctx, { userId: candidate.id, role: candidate.role, sessionId }, refresh.token);
}

const invalidRefreshToken = () =>
  new ApiError("invalid_token", "The refresh token is invalid, expired, already used or revoked.");

/** Rotates a refresh token (one round trip); a reused one ends its whole session. */
export async function refresh(ctx: ServiceContext, input: { refresh_token: string }): Promise<TokenPair> {
  const { config, now } = ctx;
  const [tokenHash, successor] = await Promise.all([
    refreshTokenHash(input.refresh_token),
    successorOf(config, input.refresh_token),
  ]);
  const { rotation } = await endingSessions(ctx.edge, now, (ender) =>
    rotateRefreshToken(ctx.db, ender, {
      tokenHash,
      successorHash: successor.hash,
      successorExpiresAt: secondsAfter(now, config.REFRESH_TOKEN_TTL_SECONDS),
      graceStart: secondsAfter(now, -config.REFRESH_REUSE_GRACE_SECONDS),
      now,
    }),
  );
  if (!rotation) throw invalidRefreshToken();
  if (rotation.outcome === "reused") {
    ctx.log.warn("refresh token reuse: session revoked", { session_id: rotation.sessionId });
    throw invalidRefreshToken();
  }
  if (rotation.outcome === "expired" || rotation.status !== "verified") throw invalidRefreshToken();
  return tokenPair(ctx, { userId: rotation.userId, role: rotation.role, sessionId: rotation.sessionId }, successor.token);
}

/** Ends the session of a refresh token, in Postgres and at the edge, so its access tokens stop working too. */
export async function logout(ctx: ServiceContext, input: { refresh_token: string }): Promise<void> {
  const tokenHash = await refreshTokenHash(input.refresh_token);
  const { endedSessions } = await endingSessions(ctx.edge, ctx.now, (ender) => endSessionOfToken(ctx.db, ender, tokenHash, ctx.now));
  if (endedSessions.length === 0) throw invalidRefreshToken();
}
