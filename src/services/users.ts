import { verifyPassword } from "../auth/passwords.ts";
import type { AccessClaims } from "../auth/tokens.ts";
import { deleteUser, findPasswordHolder, findUserById, listUsers, type UserChanges, updateUser } from "../db/users.ts";
import { ApiError } from "../errors.ts";
import { emailChangedNotice, emailChangeMail, emailChangeStartedNotice } from "../mail/templates.ts";
import { endingSessions } from "../revocation.ts";
import type { PublicUser, UserRole, UserStatus } from "../schemas/user.ts";
import { codeToIssue, issuingInterval } from "./codes.ts";
import type { ServiceContext } from "./context.ts";
import { emailTakenError, translateEmailTaken } from "./email-taken.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { publicUser } from "./public-user.ts";

const userNotFound = () => new ApiError("user_not_found", "There is no user with this id.");

export async function getOwnUser(ctx: ServiceContext, actor: AccessClaims): Promise<PublicUser> {
  const user = await findUserById(ctx.db, actor.userId);
  // the token is valid but its user is gone: deleted while the token was in flight
  if (!user) throw new ApiError("invalid_token", "The user of this token no longer exists.");
  return publicUser(user);
}

export async function getUser(ctx: ServiceContext, id: string): Promise<PublicUser> {
  const user = await findUserById(ctx.db, id);
  if (!user) throw userNotFound();
  return publicUser(user);
}

export interface UserQuery {
  limit: number;
  /** The id of the last user of the previous page. */
  afterId?: string | undefined;
  status?: UserStatus | undefined;
  role?: UserRole | undefined;
  email?: string | undefined;
}

/** A page of users, newest first, and the id to continue after when there are more. */
export async function listUsersPage(
  ctx: ServiceContext,
  query: UserQuery,
): Promise<{ users: PublicUser[]; continueAfter: string | undefined }> {
  // one row more than asked tells whether there is a next page without a count query
  const rows = await listUsers(ctx.db, {
    limit: query.limit + 1,
    beforeId: query.afterId,
    status: query.status,
    role: query.role,
    emailPrefix: query.email,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { users: page.map(publicUser), continueAfter: rows.length > query.limit && last ? last.id : undefined };
}

export interface UserPatch extends UserChanges {
  /** Needed to move one's own account to another address: a stolen access token alone cannot. */
  current_password?: string | undefined;
}

/**
 * Proves the caller still knows their password before a change that could take the account away (a
 * new login address). One round trip, and a guess that counts against the address like a login's.
 */
async function reauthenticate(ctx: ServiceContext, userId: string, password: string | undefined): Promise<void> {
  if (password === undefined) {
    throw new ApiError("validation_failed", "Changing your own email address needs your current_password.");
  }
  const holder = await findPasswordHolder(ctx.db, { id: userId });
  if (!holder) throw new ApiError("invalid_token", "The user of this token no longer exists.");
  await ctx.limitPasswordGuesses(holder.email);
  const { valid } = await verifyPassword(password, holder.password_hash);
  if (!valid) throw new ApiError("invalid_credentials", "The current password is wrong.");
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
  if (selfEmailChange) await reauthenticate(ctx, id, currentPassword);
  const changes: UserChanges = { ...rest, ...(email !== undefined && !isSelf ? { email } : {}) };
  const emailChange = selfEmailChange
    ? { newEmail: email, code: await codeToIssue(ctx, email, emailChangeMail), notIssuedSince: issuingInterval(ctx) }
    : undefined;
  const oldAddressNotice =
    email === undefined ? undefined : await mailToQueue(ctx, selfEmailChange ? emailChangeStartedNotice(email) : emailChangedNotice(email));

  const updated = await translateEmailTaken(
    endingSessions(ctx, (ender) => updateUser(ctx.db, ender, id, changes, { events: ctx.events, emailChange, oldAddressNotice })),
  );
  if (updated.outcome === "not_found") throw userNotFound();
  if (updated.outcome === "email_taken") throw emailTakenError();
  if (updated.outcome === "last_admin") {
    throw new ApiError("last_admin", "This is the last active admin: make another admin first.");
  }
  if (updated.outcome === "too_soon") {
    throw new ApiError("too_many_requests", "A code was sent to that address moments ago. Wait a minute and try again.", {
      retryAfterSeconds: ctx.config.CODE_RESEND_INTERVAL_SECONDS,
    });
  }
  deliverLater(ctx, updated.mail);
  deliverLater(ctx, updated.notice);
  return publicUser(updated.user);
}

export async function removeUser(ctx: ServiceContext, actor: AccessClaims, id: string): Promise<void> {
  if (actor.userId === id) throw new ApiError("cannot_delete_self", "An admin cannot delete their own account.");
  const { deleted } = await endingSessions(ctx, (ender) => deleteUser(ctx.db, ender, id, ctx.events));
  if (!deleted) throw userNotFound();
}
