import { createRoute, z } from "@hono/zod-openapi";
import {
  AdminUserSchema,
  EMAIL_MAX_OCTETS,
  UserPatchSchema,
  UserRoleSchema,
  UserSchema,
  UserSortSchema,
  UserStatusSchema,
} from "../../schemas/user.ts";
import { adminOnly, anyUser, bearerSecurity as security, userWrites } from "../access.ts";
import {
  ADMIN_PROBLEMS,
  BODY_PROBLEMS,
  DATABASE_PROBLEMS,
  LIMITED_PROBLEMS,
  PARAMETER_PROBLEMS,
  problemResponses,
  SIGNED_IN_PROBLEMS,
  STEP_UP_PROBLEMS,
} from "../problems.ts";
import { NextPageHeaders, UserCursorSchema } from "../cursor.ts";
import { exampleAdminUser, exampleUser } from "../examples.ts";
import { jsonBody, jsonContent } from "../json-body.ts";
import { LimitSchema, UserIdParamSchema } from "../params.ts";

const tags = ["Users"];
const userBody = jsonContent(UserSchema, exampleUser);

export const me = createRoute({
  method: "get",
  path: "/users/me",
  operationId: "getMe",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "The user of the access token",
  description: "Your account as the API keeps it now (one SQL round trip; the token itself is checked without one).",
  responses: { 200: { description: "You", content: userBody }, ...problemResponses(...SIGNED_IN_PROBLEMS, ...DATABASE_PROBLEMS) },
});

/** The filters of the users list, which its CSV export takes too. */
const UserFilterQuery = z.object({
  status: UserStatusSchema.optional(),
  role: UserRoleSchema.optional(),
  email: z
    .string()
    .trim()
    .toLowerCase()
    .min(1)
    .max(EMAIL_MAX_OCTETS)
    .optional()
    .openapi({ description: "The start of the address", example: "ada" }),
  search: z.string().trim().min(1).max(EMAIL_MAX_OCTETS).optional().openapi({
    description: "Anywhere in the address, the first name, the last name or both (case aside), or the id itself",
    example: "lovelace",
  }),
  sort: UserSortSchema.default("-created_at"),
});

export const list = createRoute({
  method: "get",
  path: "/users",
  operationId: "listUsers",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "List users (admin)",
  description:
    "A page of users as a JSON array, each with where their sign-in stands, newest first unless `sort` says otherwise. " +
    'When there are more, the `Link: <…>; rel="next"` header has the next page\'s URL (its cursor holds the order). ' +
    "`X-Total-Count` says how many users match the filters, counted exactly up to 10,000: past that it says 10,000 and " +
    "`X-Total-Count-Exact` says `false`. One SQL round trip, the count included.",
  request: {
    query: UserFilterQuery.extend({ limit: LimitSchema, cursor: UserCursorSchema.optional() }).refine(
      (query) => query.cursor === undefined || query.cursor.sort === query.sort,
      { path: ["cursor"], message: "This cursor was made for another sort: start from the first page" },
    ),
  },
  responses: {
    200: {
      description: "A page of users",
      headers: NextPageHeaders.extend({
        "X-Total-Count": z.string().optional().meta({
          description: "How many users match the filters, exactly up to 10,000 (absent on an empty page after a cursor)",
        }),
        "X-Total-Count-Exact": z
          .enum(["true", "false"])
          .optional()
          .meta({ description: "`false` when more users match than were counted: at least X-Total-Count" }),
      }),
      content: jsonContent(z.array(AdminUserSchema), [exampleAdminUser]),
    },
    ...problemResponses(...ADMIN_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS),
  },
});

export const get = createRoute({
  method: "get",
  path: "/users/{id}",
  operationId: "getUser",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "Read a user (admin)",
  description:
    "Any user's account, by id, with where their sign-in stands (`sign_in`): the account's run of wrong passwords (open, " +
    "waiting until a time, or locked after 100), known devices whose own run blocks them, the second factor (off, on, or " +
    "paused until a time) and the kinds of emailed code their address refuses for now.",
  request: { params: UserIdParamSchema },
  responses: {
    200: { description: "The user, with where their sign-in stands", content: jsonContent(AdminUserSchema, exampleAdminUser) },
    ...problemResponses(...ADMIN_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS, "user_not_found"),
  },
});

export const patch = createRoute({
  method: "patch",
  path: "/users/{id}",
  operationId: "updateUser",
  tags,
  security,
  middleware: [anyUser, userWrites] as const,
  summary: "Change a user (the user, or an admin)",
  description:
    "A user may change their own first_name, last_name and email; an admin may also set role and status, and anyone's email. " +
    "Changing one's own email needs `current_password` (a wrong one counts against the address like a failed login); the " +
    "new email takes effect only after POST /auth/verify with the new address and the code sent there, and the current " +
    "address is told at once. Asking for the current address back cancels a pending change. At most one code a minute " +
    "reaches an address, and each user may start one change a minute. Changing a user's role or status ends their " +
    "sessions; `disabled` ends them and refuses login (403 `account_disabled` to the right password only). Setting the " +
    "status of an account pending deletion calls the deletion off (`pending_deletion` itself only its owner sets). The last active " +
    "admin cannot be demoted or disabled, and an admin cannot disable themself. Each user may make 30 writes a minute. " +
    "An email change and every admin change need a recent sign-in (`reauthentication_required`).",
  request: {
    params: UserIdParamSchema,
    ...jsonBody(UserPatchSchema, { first_name: "Ada", last_name: "King" }),
  },
  responses: {
    200: { description: "The user after the change", content: userBody },
    ...problemResponses(
      ...SIGNED_IN_PROBLEMS,
      ...BODY_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      "invalid_credentials",
      "account_locked",
      "forbidden",
      "mfa_enrollment_required",
      "user_not_found",
      "email_taken",
      "last_admin",
      "cannot_disable_self",
    ),
  },
});

export const remove = createRoute({
  method: "delete",
  path: "/users/{id}",
  operationId: "deleteUser",
  tags,
  security,
  middleware: [adminOnly, userWrites] as const,
  summary: "Delete a user (admin)",
  description:
    "At once, with no grace period (an owner's own deletion, DELETE /users/me, has one): their sessions and tokens stop " +
    "working, and everything that names them is erased as at the end of that grace period (the audit trail keeps their " +
    "events under a pseudonym). An admin cannot delete themself here, and the last active admin cannot be deleted. The " +
    "caller must still be an active admin as the database has them now, whatever the token says. Needs a recent sign-in " +
    "(`reauthentication_required`).",
  request: { params: UserIdParamSchema },
  responses: {
    204: { description: "Deleted" },
    ...problemResponses(
      ...ADMIN_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "user_not_found",
      "cannot_delete_self",
      "last_admin",
    ),
  },
});

export const unlock = createRoute({
  method: "post",
  path: "/users/{id}/unlock",
  operationId: "unlockUser",
  tags,
  security,
  middleware: [adminOnly, userWrites] as const,
  summary: "Lift a lock or a wait of wrong passwords (admin)",
  description:
    "For an owner shut out by wrong passwords: the account's run of wrong passwords in a row (locked after 100, or waiting " +
    "out a backoff) and its known devices' runs are cleared, so the next password is judged at once. The owner is mailed; " +
    "the event `account_unlocked` records how long the run was. 409 `account_not_locked` when there is nothing to clear. " +
    "The caller must still be an active admin as the database has them now, and needs a recent sign-in " +
    "(`reauthentication_required`). Paused codes and a paused second factor are not lifted: a reset code, or the factor's " +
    "reset (DELETE /users/{id}/mfa), is the way past those.",
  request: { params: UserIdParamSchema },
  responses: {
    204: { description: "Unlocked" },
    ...problemResponses(
      ...ADMIN_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "user_not_found",
      "account_not_locked",
    ),
  },
});

export const exportCsv = createRoute({
  method: "get",
  path: "/users.csv",
  operationId: "exportUsersCsv",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "Export the users list as CSV (admin)",
  description:
    "Every user the filters match (those of GET /users), in its order, as CSV (RFC 4180, UTF-8, a header row): id, " +
    "email, names, status, role, created_at, the last sign-in (time, client, network), and where the password and " +
    "the second factor stand. Streamed as it is read, a thousand users per SQL round trip. A field starting with = + " +
    "- @ or a tab gets a leading apostrophe, so a spreadsheet never runs a name as a formula. Everyone's data leaving: it " +
    "needs a recent sign-in (`reauthentication_required`), the caller must still be an active admin as the database has " +
    "them now, and it is recorded as `users_exported` with the filters.",
  request: { query: UserFilterQuery },
  responses: {
    200: {
      description: "The users, as CSV",
      headers: z.object({
        "Content-Disposition": z.string().meta({ description: 'attachment; filename="users-<date>.csv"' }),
      }),
      content: {
        "text/csv": {
          schema: z.string(),
          example:
            "id,email,first_name,last_name,status,role,created_at,last_sign_in_at,last_sign_in_client,last_sign_in_address,password,second_factor\r\n" +
            "42,ada@example.com,Ada,Lovelace,verified,user,2026-11-24T12:00:00.000Z,2026-11-30T08:12:40.000Z,Safari on iPhone,203.0.113.9,open,on\r\n",
        },
      },
    },
    ...problemResponses(...ADMIN_PROBLEMS, ...STEP_UP_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS),
  },
});
