import type { AccessClaims } from "../auth/tokens.ts";
import { deleteUser, findUserById, findUserWithStanding, type UpdateRefusal, type UserChanges, updateUser } from "../db/users.ts";
import { ApiError, failure } from "../errors.ts";
import { POLICY } from "../policy.ts";
import { unlockAccount } from "../db/unlocking.ts";
import { accountUnlockedNotice, emailChangedNotice, emailChangeMail, emailChangeStartedNotice } from "../mail/templates.ts";
import { endingSessions } from "../edge/revocations.ts";
import { listUsers, type UserFilters, type UserPosition } from "../db/user-list.ts";
import type { AdminUser, PublicUser, UserCursor, UserPatch, UserSort } from "../schemas/user.ts";
import { codeToIssue, mailAllowance } from "./codes.ts";
import type { ServiceContext } from "./context.ts";
import { translateEmailTaken } from "./email-taken.ts";
import { provePassword, type ProvedPassword, signedIn } from "./guards/password.ts";
import { requireAdminFactor, requireRecentAuthentication } from "./step-up.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { adminUser, publicUser } from "./public-user.ts";

export async function getOwnUser(ctx: ServiceContext, actor: AccessClaims): Promise<PublicUser> {
  const user = await findUserById(ctx.db, actor.userId);
  // the token is valid but its user is gone: deleted while the token was in flight
  if (!user) throw failure("user_gone");
  return publicUser(user);
}

/** Any user, as an admin sees them: with where their sign-in stands now. */
export async function getUser(ctx: ServiceContext, id: string): Promise<AdminUser> {
  const user = await findUserWithStanding(ctx.db, id, ctx.now);
  if (!user) throw failure("user_not_found");
  return adminUser(user, ctx.now);
}

export interface UserQuery extends UserFilters {
  limit: number;
  sort: UserSort;
  /** Where the previous page ended in this order. */
  after?: UserPosition | undefined;
}

export interface UsersPage {
  users: AdminUser[];
  /** Where the next page starts, when there is one. */
  next: UserCursor | undefined;
  /**
   * How many users match the filters: exact up to POLICY.lists.countUsersUpTo, else that many and `exact` false.
   * Unknown for an empty page after a cursor.
   */
  total: { count: number; exact: boolean } | undefined;
}

/** A page of users, as admins see them, in the order asked, with the count of those the filters match (one round trip). */
export async function listUsersPage(ctx: ServiceContext, query: UserQuery): Promise<UsersPage> {
  const { limit, sort, after, ...filters } = query;
  // one row more than asked tells whether there is a next page
  const rows = await listUsers(ctx.db, {
    filters,
    sort,
    after,
    limit: limit + 1,
    now: ctx.now,
    countUpTo: POLICY.lists.countUsersUpTo + 1,
  });
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const counted = rows[0]?.matching ?? (after === undefined ? 0 : undefined);
  return {
    users: page.map((row) => adminUser(row, ctx.now)),
    next: rows.length > limit && last ? { sort, key: last.sort_key, id: last.id } : undefined,
    total:
      counted === undefined
        ? undefined
        : { count: Math.min(counted, POLICY.lists.countUsersUpTo), exact: counted <= POLICY.lists.countUsersUpTo },
  };
}

/**
 * A user may change their names and start an email change (with their current password; the new
 * address must be proved with a code first, and the old one hears of it at once); an admin may also set
 * anyone's role, status and email directly (the old address hears of that too).
 */
export async function patchUser(ctx: ServiceContext, actor: AccessClaims, id: string, patch: UserPatch): Promise<PublicUser> {
  const isAdmin = actor.role === "admin";
  const isSelf = actor.userId === id;
  if (!isAdmin && !isSelf) throw new ApiError("forbidden", "You can only change your own account.");
  if (!isAdmin && (patch.role !== undefined || patch.status !== undefined)) {
    throw new ApiError("forbidden", "Only an admin can change role or status.");
  }
  if (isSelf && patch.status !== undefined && patch.status !== "verified") {
    throw new ApiError("cannot_disable_self", "An admin cannot disable their own account.");
  }
  const { email, current_password: currentPassword, ...rest } = patch;
  const selfEmailChange = email !== undefined && isSelf;
  // another user's account, or a role or status, needs an admin (as the database has them when the change runs)
  const asAdmin = !isSelf || patch.role !== undefined || patch.status !== undefined;
  if (asAdmin) requireAdminFactor(ctx.config, actor);
  // an admin's write, or an email change: sensitive, so the sign-in behind the token must be recent
  if (selfEmailChange || asAdmin) requireRecentAuthentication(ctx, actor);
  let proved: ProvedPassword | undefined;
  if (selfEmailChange) {
    // a stolen access token alone cannot move the account to another address
    if (currentPassword === undefined)
      throw new ApiError("validation_failed", "Changing your own email address needs your current_password.");
    proved = await provePassword(ctx, signedIn(actor), currentPassword, "email_change");
  }
  const changes: UserChanges = { ...rest, ...(email !== undefined && !isSelf ? { email } : {}) };
  const emailChange = selfEmailChange
    ? { newEmail: email, code: await codeToIssue(ctx, email, emailChangeMail), allowance: mailAllowance(ctx) }
    : undefined;
  const oldAddressNotice =
    email === undefined ? undefined : await mailToQueue(ctx, selfEmailChange ? emailChangeStartedNotice(email) : emailChangedNotice(email));

  const updated = await translateEmailTaken(
    endingSessions(ctx, (ender) =>
      updateUser(ctx.db, ender, id, changes, {
        actor: { id: actor.userId, needs: asAdmin ? "admin" : "user" },
        events: ctx.events,
        emailChange,
        oldAddressNotice,
        passwordProved: proved?.holder.run,
      }),
    ),
  );
  if (updated.outcome !== "updated") {
    // a refused change wrote nothing, so the right password's try is taken off the run here
    proved?.settle();
    throw refusedUpdate(ctx, updated.outcome);
  }
  deliverLater(ctx, updated.mail);
  deliverLater(ctx, updated.notice);
  return publicUser(updated.user);
}

/** Why a change was refused, in the client's words. */
function refusedUpdate(ctx: ServiceContext, refusal: UpdateRefusal | "not_found"): ApiError {
  switch (refusal) {
    case "forbidden":
      return new ApiError("forbidden", "Your account no longer allows this.");
    case "not_found":
      return failure("user_not_found");
    case "email_taken":
      return failure("email_taken");
    case "last_admin":
      return new ApiError("last_admin", "This is the last active admin: make another admin first.");
    case "too_soon":
      return new ApiError("too_many_requests", "A code was sent to that address moments ago. Wait a minute and try again.", {
        retryAfterSeconds: ctx.config.CODE_RESEND_INTERVAL_SECONDS,
      });
  }
}

/** Deletes (erases) a user at once, while the actor is still an active admin and the user not the last one. */
export async function removeUser(ctx: ServiceContext, actor: AccessClaims, id: string): Promise<void> {
  if (actor.userId === id) {
    throw new ApiError(
      "cannot_delete_self",
      "An admin cannot delete their own account here: DELETE /users/me deletes it after a grace period.",
    );
  }
  requireRecentAuthentication(ctx, actor);
  const { outcome } = await endingSessions(ctx, (ender) =>
    deleteUser(ctx.db, ender, { id, actor: { id: actor.userId, needs: "admin" }, events: ctx.events }),
  );
  if (outcome !== "deleted") throw refusedUpdate(ctx, outcome);
}

/**
 * An admin lifts a lock or a wait of wrong passwords (the owner called: "I'm locked out"): the runs of the account
 * and of its known devices are cleared, the owner is told, the event recorded. An admin's write like any other:
 * a recent sign-in, with a second factor where admins need one, and the admin's standing checked in the statement.
 */
export async function unlockUser(ctx: ServiceContext, actor: AccessClaims, id: string): Promise<void> {
  requireAdminFactor(ctx.config, actor);
  requireRecentAuthentication(ctx, actor);
  const notice = await mailToQueue(ctx, accountUnlockedNotice());
  const { outcome, notice: queued } = await unlockAccount(ctx.db, {
    userId: id,
    actor: { id: actor.userId, needs: "admin" },
    notice,
    events: ctx.events,
  });
  switch (outcome) {
    case "forbidden":
      throw new ApiError("forbidden", "Your account no longer allows this.");
    case "not_found":
      throw failure("user_not_found");
    case "not_locked":
      throw new ApiError("account_not_locked", "This account has no wrong passwords in a row to clear: it takes a password now.");
    case "unlocked":
      deliverLater(ctx, queued);
  }
}
