import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth } from "../../auth/guard.ts";
import { EmailSchema, NameSchema, problemResponses, UserIdParamSchema, UserSchema } from "../openapi-schemas.ts";

const tags = ["Users"];
const security = [{ bearerAuth: [] }];
const anyUser = requireAuth();
const adminOnly = requireAuth({ roles: ["admin"] });
const userBody = { "application/json": { schema: UserSchema } };

export const me = createRoute({
  method: "get",
  path: "/users/me",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "The user of the access token",
  responses: { 200: { description: "You", content: userBody }, ...problemResponses(401) },
});

export const list = createRoute({
  method: "get",
  path: "/users",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "List users, newest first (admin)",
  description: 'A page of users as a JSON array. When there are more, the `Link: <…>; rel="next"` header has the next page\'s URL.',
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(50).openapi({ example: 50 }),
      cursor: z.string().max(100).optional().openapi({ description: "From the Link header of the previous page" }),
      status: z.enum(["unverified", "verified"]).optional(),
      role: z.enum(["user", "admin"]).optional(),
      email: z.string().trim().toLowerCase().min(1).max(254).optional().openapi({ description: "Email prefix" }),
    }),
  },
  responses: {
    200: {
      description: "A page of users",
      headers: z.object({ Link: z.string().optional().openapi({ description: 'The next page: <url>; rel="next"' }) }),
      content: { "application/json": { schema: z.array(UserSchema) } },
    },
    ...problemResponses(401, 403, 422),
  },
});

export const get = createRoute({
  method: "get",
  path: "/users/{id}",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "Read a user (admin)",
  request: { params: UserIdParamSchema },
  responses: { 200: { description: "The user", content: userBody }, ...problemResponses(401, 403, 404, 422) },
});

export const patch = createRoute({
  method: "patch",
  path: "/users/{id}",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "Change a user (the user, or an admin)",
  description:
    "A user may change their own first_name, last_name and email; an admin may also set role and status, and anyone's email. " +
    "A user's new email takes effect only after POST /auth/verify with the new address and the code sent there. " +
    "Changing a user's role or status ends their sessions.",
  request: {
    params: UserIdParamSchema,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .strictObject({
              first_name: NameSchema.optional(),
              last_name: NameSchema.optional(),
              email: EmailSchema.optional(),
              role: z.enum(["user", "admin"]).optional(),
              status: z.enum(["unverified", "verified"]).optional(),
            })
            .refine((patch) => Object.keys(patch).length > 0, "Nothing to change")
            .openapi("UserPatch"),
        },
      },
    },
  },
  responses: {
    200: { description: "The user after the change", content: userBody },
    ...problemResponses(400, 401, 403, 404, 409, 415, 422),
  },
});

export const remove = createRoute({
  method: "delete",
  path: "/users/{id}",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "Delete a user (admin)",
  description: "Their sessions and tokens stop working at once. An admin cannot delete themself.",
  request: { params: UserIdParamSchema },
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 404, 409, 422) },
});
