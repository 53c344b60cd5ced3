import { sha256 } from "../auth/crypto.ts";
import { hashPassword, spendPasswordCheckTime, verifyPassword } from "../auth/passwords.ts";
import { newRefreshToken, refreshTokenHash, successorOf } from "../auth/tokens.ts";
import { recordEvent } from "../db/events.ts";
import { chargePasswordTry, type HolderRead, type PasswordHolder, upgradePasswordHash } from "../db/passwords.ts";
import { endSessionOfToken, rotateRefreshToken, startSession } from "../db/sessions.ts";
import { ApiError, failure } from "../errors.ts";
import { endingSessions } from "../edge/revocations.ts";
import type { LoginRequest, RefreshRequest, TokenPair } from "../schemas/tokens.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { challengeLogin } from "./mfa.ts";
import { recordFailure, waitingError } from "./password-failures.ts";
import { freshSession, tokenPair } from "./tokens.ts";

const wrongCredentials = () => new ApiError("invalid_credentials", "The email or password is wrong.");
const notVerified = () => new ApiError("email_not_verified", "Verify your email address first: use the code we sent you.");
const disabled = () => new ApiError("account_disabled", "This account has been disabled. Contact us if you think this is a mistake.");

/**
 * Checks a login's password against its account (the try already counted), or spends the same work for an
 * unknown address. Throws the answer for every failure, recording it after the answer; the account's state
 * (waiting, unverified, disabled) is named only as its rule allows: waiting before the password is checked,
 * so the right one is refused alike; unverified and disabled only after it proved right.
 */
async function checkLoginPassword(
  ctx: ServiceContext,
  input: LoginRequest,
  read: HolderRead,
): Promise<PasswordHolder & { needsRehash: boolean }> {
  const { holder, imported } = read;
  if (!holder) {
    await spendPasswordCheckTime(input.password, imported);
    ctx.defer(
      recordEvent(ctx.db, ctx.events, { type: "login_failed", userId: null, details: { reason: "unknown_address", email: input.email } }),
    );
    throw wrongCredentials();
  }
  if (holder.waiting) {
    recordFailure(ctx, holder, "counted", { reason: holder.waiting === "locked" ? "locked" : "throttled" });
    throw waitingError(holder.waiting);
  }
  const { valid, needsRehash } = await verifyPassword(input.password, holder.password_hash, imported);
  if (!valid) {
    recordFailure(ctx, holder, "counted", { reason: "wrong_password" });
    throw wrongCredentials();
  }
  if (holder.status === "disabled") {
    recordFailure(ctx, holder, "clear", { reason: "disabled" });
    throw disabled();
  }
  if (holder.status !== "verified") {
    recordFailure(ctx, holder, "clear", { reason: "unverified" });
    throw notVerified();
  }
  return { ...holder, needsRehash };
}

/**
 * Two round trips: read the hash (counting the try), then write the session (or, for a failure, its event,
 * after the answer). An unknown email spends the same password work as a wrong password. The token carries
 * the role and generation that the session's write saw, not the ones read before the password work.
 */
export async function login(ctx: ServiceContext, input: LoginRequest): Promise<TokenPair> {
  const holder = await checkLoginPassword(ctx, input, await chargePasswordTry(ctx.db, input.email, ctx.now));
  // After the answer (a third round trip, once per account): done inline, the upgrade's hashing would
  // make the first login of an old hash take longer than any other, which timing would tell. Started only
  // once the session is written: that statement checks the stored hash is still the one verified, and an
  // upgrade committed first would make it refuse this very login.
  const upgradeHash = () => {
    if (!holder.needsRehash) return;
    const from = holder.password_hash;
    ctx.defer(hashPassword(input.password).then((to) => upgradePasswordHash(ctx.db, { userId: holder.id, from, to, now: ctx.now })));
  };
  if (holder.secondFactor) {
    upgradeHash();
    return challengeLogin(ctx, holder);
  }
  const refresh = await newRefreshToken();
  const fresh = freshSession(ctx, refresh.hash);
  const session = await startSession(ctx.db, {
    userId: holder.id,
    verifiedHash: holder.password_hash,
    fresh,
    proof: { amr: ["pwd"] },
    events: ctx.events,
  });
  upgradeHash();
  // gone, or its password changed (or a second factor turned on) while this one was being checked
  if (!session) throw wrongCredentials();
  if (!session.started) throw session.status === "disabled" ? disabled() : notVerified();
  return tokenPair(
    ctx,
    { userId: holder.id, role: session.role, sessionId: fresh.id, generation: session.generation, amr: ["pwd"], authTime: ctx.now },
    refresh.token,
  );
}

/** What binds a replay within the grace window to the client that spent the token. */
function clientFingerprint(ctx: ServiceContext): Promise<Uint8Array> {
  return sha256(`${ctx.client.userAgent}\n${ctx.client.network}`);
}

/**
 * Rotates a refresh token (one round trip). Presenting a spent token again ends its whole session,
 * unless the same client does so within the grace window (two tabs refreshing at once), which gets the
 * same successor. Both are security events: recorded in the audit trail and logged.
 */
export async function refresh(ctx: ServiceContext, input: RefreshRequest): Promise<TokenPair> {
  const { config, now } = ctx;
  const [tokenHash, successor, fingerprint] = await Promise.all([
    refreshTokenHash(input.refresh_token),
    successorOf(config, input.refresh_token),
    clientFingerprint(ctx),
  ]);
  const { rotation } = await endingSessions(ctx, (ender) =>
    rotateRefreshToken(ctx.db, ender, {
      tokenHash,
      successorHash: successor.hash,
      successorExpiresAt: secondsAfter(now, config.REFRESH_TOKEN_TTL_SECONDS),
      clientFingerprint: fingerprint,
      graceStart: secondsAfter(now, -config.REFRESH_REUSE_GRACE_SECONDS),
      events: ctx.events,
    }),
  );
  if (!rotation) throw failure("refresh_token_invalid");
  if (rotation.outcome === "reused") {
    ctx.log.warn("refresh token reuse: session revoked", { session_id: rotation.sessionId, user_id: rotation.userId });
    throw failure("refresh_token_invalid");
  }
  if (rotation.outcome === "replayed") {
    ctx.log.warn("refresh token replayed within the grace window", { session_id: rotation.sessionId, user_id: rotation.userId });
  }
  if (rotation.outcome === "expired" || rotation.outcome === "revoked" || rotation.status !== "verified")
    throw failure("refresh_token_invalid");
  const { userId, role, sessionId, generation, amr, authTime } = rotation;
  return tokenPair(ctx, { userId, role, sessionId, generation, amr, authTime }, successor.token);
}

/** Ends the session of a refresh token, in Postgres and at the edge, so its access tokens stop working too. */
export async function logout(ctx: ServiceContext, input: RefreshRequest): Promise<void> {
  const tokenHash = await refreshTokenHash(input.refresh_token);
  const { endings } = await endingSessions(ctx, (ender) => endSessionOfToken(ctx.db, ender, tokenHash, ctx.events));
  if (endings.sessions.length === 0) throw failure("refresh_token_invalid");
}
