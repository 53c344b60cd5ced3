import { createRoute, z } from "@hono/zod-openapi";
import { SessionSchema } from "../../schemas/sessions.ts";
import { adminOnly, anyUser, bearerSecurity as security, userWrites } from "../access.ts";
import { exampleSession } from "../examples.ts";
import { jsonContent } from "../json-body.ts";
import { UserIdParamSchema } from "../params.ts";
import {
  ADMIN_PROBLEMS,
  DATABASE_PROBLEMS,
  LIMITED_PROBLEMS,
  PARAMETER_PROBLEMS,
  problemResponses,
  SIGNED_IN_PROBLEMS,
  STEP_UP_PROBLEMS,
} from "../problems.ts";

const tags = ["Sessions"];
const sessionIdParam = (name: string) => z.uuid().openapi({ param: { name, in: "path" }, example: "0b9e5e0e-9a4b-4c38-9a55-3c3f4f6f8a11" });
const sessionList = jsonContent(z.array(SessionSchema), [
  exampleSession,
  { ...exampleSession, id: "5d0c6a8e-1f2b-4c3d-8e9f-0a1b2c3d4e5f", current: false, last_refreshed_at: null },
]);

export const listOwn = createRoute({
  method: "get",
  path: "/auth/sessions",
  operationId: "listMySessions",
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
  operationId: "endMySession",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "End one of your sessions",
  description:
    "Its refresh token and access tokens stop working at once (at this edge location; elsewhere within about a minute). " +
    "A session that is not yours is not found, as if it did not exist.",
  request: { params: z.object({ id: sessionIdParam("id") }) },
  responses: {
    204: { description: "Ended" },
    ...problemResponses(...SIGNED_IN_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, "session_not_found"),
  },
});

export const endAllOwn = createRoute({
  method: "post",
  path: "/auth/logout/all",
  operationId: "logoutEverywhere",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "Log out everywhere",
  description:
    "Ends every session of yours, this one included: one entry at the edge refuses every access token of yours, however " +
    "many sessions you had (at once at this edge location; elsewhere within about a minute).",
  responses: {
    204: { description: "Every session ended" },
    ...problemResponses(...SIGNED_IN_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, "forbidden"),
  },
});

export const listUsers = createRoute({
  method: "get",
  path: "/users/{id}/sessions",
  operationId: "listUserSessions",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "A user's sessions (admin)",
  description: "Where a user is logged in: their live sessions, newest first (`current` is always false here).",
  request: { params: UserIdParamSchema },
  responses: {
    200: { description: "The user's live sessions, newest first", content: sessionList },
    ...problemResponses(...ADMIN_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS, "user_not_found"),
  },
});

export const endAllOfUser = createRoute({
  method: "delete",
  path: "/users/{id}/sessions",
  operationId: "endUserSessions",
  tags,
  security,
  middleware: [adminOnly, userWrites] as const,
  summary: "End every session of a user (admin)",
  description:
    "Their refresh and access tokens stop working at once (at this edge location; elsewhere within about a minute). " +
    "Needs a recent sign-in (`reauthentication_required`).",
  request: { params: UserIdParamSchema },
  responses: {
    204: { description: "Every session of the user ended" },
    ...problemResponses(
      ...ADMIN_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "user_not_found",
    ),
  },
});

export const endOneOfUser = createRoute({
  method: "delete",
  path: "/users/{id}/sessions/{session_id}",
  operationId: "endUserSession",
  tags,
  security,
  middleware: [adminOnly, userWrites] as const,
  summary: "End one session of a user (admin)",
  description:
    "Its refresh token and access tokens stop working at once (at this edge location; elsewhere within about a minute); " +
    "the user's other sessions go on. Needs a recent sign-in (`reauthentication_required`).",
  request: { params: UserIdParamSchema.extend({ session_id: sessionIdParam("session_id") }) },
  responses: {
    204: { description: "Ended" },
    ...problemResponses(
      ...ADMIN_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "user_not_found",
      "session_not_found",
    ),
  },
});
