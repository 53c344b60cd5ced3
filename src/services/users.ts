import type { AccessClaims } from "../auth/tokens.ts";
import { deleteUser, type EmailChangeStart, findUserById, listUsers, type UserChanges, updateUser } from "../db/users.ts";
import { ApiError } from "../errors.ts";
import { emailChangeMail } from "../mail/templates.ts";
import { endingSessions } from "../revocation.ts";
import type { PublicUser, UserRole, UserStatus } from "../schemas/user.ts";
import { codeToIssue } from "./codes.ts";
import type { ServiceContext } from "./context.ts";
import { emailTakenError, translateEmailTaken } from "./email-taken.ts";
import { deliverLater } from "./mail-delivery.ts";
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

/**
 * A user may change their names and start an email change (the new address must be proved with a
 * code first); an admin may also set anyone's role, status and email directly.
 */
export async function patchUser(ctx: ServiceContext, actor: AccessClaims, id: string, patch: UserChanges): Promise<PublicUser> {
  const isAdmin = actor.role === "admin";
  const isSelf = actor.userId === id;
  if (!isAdmin && !isSelf) throw new ApiError("forbidden", "You can only change your own account.");
  if (!isAdmin && (patch.role !== undefined || patch.status !== undefined)) {
    throw new ApiError("forbidden", "Only an admin can change role or status.");
  }
  const { email, ...rest } = patch;
  const changes: UserChanges = { ...rest, ...(email !== undefined && !isSelf ? { email } : {}) };
  const emailChange = email !== undefined && isSelf ? await emailChangeStart(ctx, email) : undefined;

  const updated = await translateEmailTaken(
    endingSessions(ctx.edge, ctx.now, (ender) => updateUser(ctx.db, ender, id, changes, { now: ctx.now, emailChange })),
  );
  if (updated.outcome === "not_found") throw userNotFound();
  if (updated.outcome === "email_taken") throw emailTakenError();
  deliverLater(ctx, updated.mail);
  return publicUser(updated.user);
}

async function emailChangeStart(ctx: ServiceContext, newEmail: string): Promise<EmailChangeStart> {
  return { newEmail, code: await codeToIssue(ctx, newEmail, emailChangeMail) };
}

export async function removeUser(ctx: ServiceContext, actor: AccessClaims, id: string): Promise<void> {
  if (actor.userId === id) throw new ApiError("cannot_delete_self", "An admin cannot delete their own account.");
  const { deleted } = await endingSessions(ctx.edge, ctx.now, (ender) => deleteUser(ctx.db, ender, id));
  if (!deleted) throw userNotFound();
}
