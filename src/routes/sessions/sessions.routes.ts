import { createRoute, z } from "@hono/zod-openapi";
import { SessionSchema } from "../../schemas/sessions.ts";
import { adminOnly, anyUser, bearerSecurity as security, userWrites } from "../access.ts";
import { UserIdParamSchema } from "../params.ts";
import { ADMIN_PROBLEMS, DATABASE_PROBLEMS, LIMITED_PROBLEMS, PARAMETER_PROBLEMS, problemResponses, SIGNED_IN_PROBLEMS } from "../problems.ts";

const tags = ["Sessions"];
const sessionList = { "application/json": { schema: z.array(SessionSchema) } };

export const listOwn = createRoute({
  method: "get",
  path: "/auth/sessions",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "Where you are logged in",
  description: "Your live sessions, newest first; `current` marks the one of this access token.",
  responses: {
    200: { description: "Your sessions", content: sessionList },
    ...problemResponses(...SIGNED_IN_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS),
  },
});

export const endOwn = createRoute({
  method: "delete",
  path: "/auth/sessions/{id}",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "End one of your sessions",
  description:
    "Its refresh token and access tokens stop working at once (at this edge location; elsewhere within about a minute). " +
    "A session that is not yours is not found, as if it did not exist.",
  request: { params: z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" }, example: "0b9e5e0e-9a4b-4c38-9a55-3c3f4f6f8a11" }) }) },
  responses: {
    204: { description: "Ended" },
    ...problemResponses(...SIGNED_IN_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, "session_not_found"),
  },
});

export const endAllOwn = createRoute({
  method: "post",
  path: "/auth/logout/all",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "Log out everywhere",
  description: "Ends every session of yours, this one included.",
  responses: {
    204: { description: "Every session ended" },
    ...problemResponses(...SIGNED_IN_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS),
  },
});

export const listUsers = createRoute({
  method: "get",
  path: "/users/{id}/sessions",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "A user's sessions (admin)",
  request: { params: UserIdParamSchema },
  responses: {
    200: { description: "The user's live sessions, newest first", content: sessionList },
    ...problemResponses(...ADMIN_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS, "user_not_found"),
  },
});

export const endAllOfUser = createRoute({
  method: "delete",
  path: "/users/{id}/sessions",
  tags,
  security,
  middleware: [adminOnly, userWrites] as const,
  summary: "End every session of a user (admin)",
  request: { params: UserIdParamSchema },
  responses: {
    204: { description: "Every session of the user ended" },
    ...problemResponses(...ADMIN_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, "user_not_found"),
  },
});
