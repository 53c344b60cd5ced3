import { sha256 } from "../auth/crypto.ts";
import { hashPassword } from "../auth/passwords.ts";
import { refreshTokenHash, successorOf } from "../auth/tokens.ts";
import { upgradePasswordHash } from "../db/passwords.ts";
import { endSessionOfToken, rotateRefreshToken, startSession } from "../db/sessions.ts";
import { ApiError, failure } from "../errors.ts";
import { endingSessions } from "../edge/revocations.ts";
import type { LoginRequest, RefreshRequest, SignedIn, TokenPair } from "../schemas/tokens.ts";
import type { UserStatus } from "../schemas/user.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { provePassword, recordFailure, wrongCredentials } from "./guards/password.ts";
import { signingInDevice } from "./devices.ts";
import { foundDevice } from "../db/devices.ts";
import { deliverLater } from "./mail-delivery.ts";
import { challengeLogin } from "./mfa.ts";
import { mintSignIn, mintTokens, newSession } from "./tokens.ts";

/** Why an account that proved who signs in gets no session: its status, told only once the proof was right. */
export function statusRefusal(status: UserStatus, deletionDueAt: Date | null): ApiError {
  switch (status) {
    case "disabled":
      return new ApiError("account_disabled", "This account has been disabled. Contact us if you think this is a mistake.");
    case "pending_deletion":
      return new ApiError(
        "account_pending_deletion",
        `This account is being deleted${deletionDueAt ? `: its data will be erased at ${deletionDueAt.toISOString()}` : ""}. To keep it, use the link in the message we sent when its deletion was asked for.`,
        { members: deletionDueAt ? { deletion_due_at: deletionDueAt.toISOString() } : {} },
      );
    default:
      return new ApiError("email_not_verified", "Verify your email address first: use the code we sent you.");
  }
}

/**
 * Two round trips: the password guard's read (counting the try), then the session's write (or, for a failure,
 * its event, after the answer). The account's state is named only as its rule allows: waiting before the password
 * is checked, so the right one is refused alike; unverified and disabled only after it proved right. The token
 * is minted from the session's row as the write returned it, not from what was read before the password work.
 */
export async function login(ctx: ServiceContext, input: LoginRequest): Promise<SignedIn> {
  const deviceTokenHash = input.device_token === undefined ? undefined : await sha256(input.device_token);
  const { holder, needsRehash } = await provePassword(ctx, { email: input.email, deviceTokenHash }, input.password, "login");
  if (holder.status !== "verified") {
    recordFailure(ctx, holder, "clear", { reason: holder.status });
    throw statusRefusal(holder.status, holder.deletion_due_at);
  }
  // An account with a factor keeps an old hash until a login without one or a password change: its challenge is
  // bound to the hash checked, which an upgrade would replace. (Enrolling takes a login, which upgrades first.)
  if (holder.secondFactor) return challengeLogin(ctx, holder);
  const device = await signingInDevice(ctx, holder.id, foundDevice(holder.run.deviceId));
  const { fresh, refreshToken } = await newSession(ctx, { proved: ["pwd"], report: device.report });
  const session = await startSession(ctx.db, {
    userId: holder.id,
    proof: { passwordHash: holder.password_hash },
    fresh,
    device: device.signIn,
    notice: device.notice,
    events: ctx.events,
  });
  // gone, or its password changed (or a second factor turned on) while this one was being checked
  if (!session) throw wrongCredentials();
  if (!session.standing) throw statusRefusal(session.status, null);
  deliverLater(ctx, session.deviceNotice);
  // After the answer (a third round trip, once per account): done inline, the upgrade's hashing would make the
  // first login of an old hash take longer than any other, which timing would tell. Only once the session is
  // written, which checks that the hash is still the one verified: an upgrade landing first would fail that.
  if (needsRehash) {
    const from = holder.password_hash;
    ctx.defer(hashPassword(input.password).then((to) => upgradePasswordHash(ctx.db, { userId: holder.id, from, to, now: ctx.now })));
  }
  return mintSignIn(ctx, session.standing, refreshToken, device.token);
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
  const { sessionId, userId } = rotation.standing;
  if (rotation.outcome === "reused") {
    ctx.log.warn("refresh token reuse: session revoked", { session_id: sessionId, user_id: userId });
    throw failure("refresh_token_invalid");
  }
  if (rotation.outcome === "replayed") {
    ctx.log.warn("refresh token replayed within the grace window", { session_id: sessionId, user_id: userId });
  }
  if (rotation.outcome === "expired" || rotation.outcome === "revoked" || rotation.status !== "verified")
    throw failure("refresh_token_invalid");
  return mintTokens(ctx, rotation.standing, successor.token);
}

/** Ends the session of a refresh token, in Postgres and at the edge, so its access tokens stop working too. */
export async function logout(ctx: ServiceContext, input: RefreshRequest): Promise<void> {
  const tokenHash = await refreshTokenHash(input.refresh_token);
  const { endings } = await endingSessions(ctx, (ender) => endSessionOfToken(ctx.db, ender, tokenHash, ctx.events));
  if (endings.sessions.length === 0) throw failure("refresh_token_invalid");
}
