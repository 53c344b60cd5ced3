import type { AccessClaims } from "../auth/tokens.ts";
import { endUserSessions, listSessions } from "../db/sessions.ts";
import { ApiError, failure } from "../errors.ts";
import { endingSessions } from "../edge/revocations.ts";
import type { EndedBy } from "../schemas/events.ts";
import type { SessionView } from "../schemas/sessions.ts";
import type { ServiceContext } from "./context.ts";
import { requireRecentAuthentication } from "./step-up.ts";

/** A user's live sessions, newest first (one round trip); `current` marks the one `currentSessionId` names. */
async function sessionsOf(ctx: ServiceContext, userId: string, currentSessionId: string | undefined): Promise<SessionView[] | undefined> {
  const rows = await listSessions(ctx.db, userId, ctx.now);
  return rows?.map((row) => ({
    id: row.id,
    created_at: row.created_at.toISOString(),
    last_refreshed_at: row.last_refreshed_at === null ? null : new Date(row.last_refreshed_at).toISOString(),
    user_agent: row.user_agent,
    client_address: row.client_address,
    current: row.id === currentSessionId,
    device: row.device && { id: row.device.id, known: row.device.known, last_sign_in_at: row.device.lastSignInAt.toISOString() },
  }));
}

export async function listOwnSessions(ctx: ServiceContext, actor: AccessClaims): Promise<SessionView[]> {
  const sessions = await sessionsOf(ctx, actor.userId, actor.sessionId);
  // the token is valid but its user is gone: deleted while the token was in flight
  if (!sessions) throw failure("user_gone");
  return sessions;
}

/** An admin's view of another user's sessions. */
export async function listUserSessions(ctx: ServiceContext, userId: string): Promise<SessionView[]> {
  const sessions = await sessionsOf(ctx, userId, undefined);
  if (!sessions) throw failure("user_not_found");
  return sessions;
}

/**
 * Ends one session: one of the caller's own (a session that is not theirs is not found, as if it did not exist)
 * or, for an admin, one of a user's (404 for no such user, or no such live session of theirs).
 */
export async function endOneSession(ctx: ServiceContext, actor: AccessClaims, owner: { userId: string; sessionId: string; by: EndedBy }) {
  const { userId, sessionId, by } = owner;
  if (by === "admin") requireRecentAuthentication(ctx, actor);
  const { userFound, allowed, endings } = await endingSessions(ctx, (ender) =>
    endUserSessions(ctx.db, ender, {
      userId,
      which: { sessionId },
      by,
      actor: { id: actor.userId, needs: by === "admin" ? "admin" : "user" },
      events: ctx.events,
    }),
  );
  if (by === "admin" && !userFound) throw failure("user_not_found");
  if (by === "admin" && !allowed) throw new ApiError("forbidden", "Your account no longer allows this.");
  if (endings.sessions.length === 0) {
    throw new ApiError(
      "session_not_found",
      by === "admin" ? "This user has no live session with this id." : "You have no live session with this id.",
    );
  }
}

/**
 * Ends every session of a user: the caller's own (logout everywhere) or, for an admin, anyone's (404 for
 * no such user).
 */
export async function endAllSessions(ctx: ServiceContext, actor: AccessClaims, userId: string, by: EndedBy): Promise<void> {
  if (by === "admin") requireRecentAuthentication(ctx, actor);
  const { userFound, allowed } = await endingSessions(ctx, (ender) =>
    endUserSessions(ctx.db, ender, {
      userId,
      which: "all",
      by,
      actor: { id: actor.userId, needs: by === "admin" ? "admin" : "user" },
      events: ctx.events,
    }),
  );
  if (!userFound) throw by === "admin" ? failure("user_not_found") : failure("user_gone");
  if (!allowed) throw new ApiError("forbidden", "Your account no longer allows this.");
}
