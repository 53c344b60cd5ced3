import { createRoute, z } from "@hono/zod-openapi";
import { SignInReportSchema } from "../../schemas/devices.ts";
import { MessageSchema } from "../../schemas/message.ts";
import { SessionSchema } from "../../schemas/sessions.ts";
import { adminOnly, anyUser, bearerSecurity as security, userWrites } from "../access.ts";
import { exampleSession } from "../examples.ts";
import { jsonBody, jsonContent } from "../json-body.ts";
import { UserIdParamSchema } from "../params.ts";
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

const deviceIdParam = (name: string) => z.uuid().openapi({ param: { name, in: "path" }, example: "5d6f0c1a-2b3e-4f5a-8b9c-0d1e2f3a4b5c" });

export const forgetOwnDevice = createRoute({
  method: "delete",
  path: "/auth/devices/{id}",
  operationId: "forgetMyDevice",
  tags,
  security,
  middleware: [anyUser, userWrites] as const,
  summary: "Sign one of your devices out, and forget it",
  description:
    "Every session signed in from the device ends at once (at this edge location; elsewhere within about a minute), and " +
    "the account forgets it: its device token opens nothing known, and its next sign-in is a new device's. A device's id " +
    "is in the session list (`device.id`).",
  request: { params: z.object({ id: deviceIdParam("id") }) },
  responses: {
    204: { description: "Signed out and forgotten" },
    ...problemResponses(
      ...SIGNED_IN_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "forbidden",
      "device_not_found",
    ),
  },
});

export const forgetUserDevice = createRoute({
  method: "delete",
  path: "/users/{id}/devices/{device_id}",
  operationId: "forgetUserDevice",
  tags,
  security,
  middleware: [adminOnly, userWrites] as const,
  summary: "Sign one device of a user out, and forget it (admin)",
  description:
    "As the owner's own: every session of the device ends and the account forgets it. Needs a recent sign-in " +
    "(`reauthentication_required`).",
  request: { params: UserIdParamSchema.extend({ device_id: deviceIdParam("device_id") }) },
  responses: {
    204: { description: "Signed out and forgotten" },
    ...problemResponses(
      ...ADMIN_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "device_not_found",
    ),
  },
});

export const reportSignIn = createRoute({
  method: "post",
  path: "/auth/sessions/report",
  operationId: "reportSignIn",
  tags,
  security: [],
  summary: "This wasn't me: sign a new device out, without signing in",
  description:
    "The link of a new-device notice (its page sends the token from the link's fragment, which no mail scanner or server " +
    "ever sees). Every session of that device ends at once and the account forgets it; the answer tells the owner to " +
    "choose a new password, since whoever signed in knows it. Works once, for 24 hours.",
  request: jsonBody(SignInReportSchema, { token: "Xk3q9vB1mZt7Lw2Xc8Rj5Np4Hd6Sa0Ge1Uf3Io9TyQ" }),
  responses: {
    200: {
      description: "Signed out",
      content: jsonContent(MessageSchema, {
        message: "That device is signed out. Whoever signed in knows your password: choose a new one.",
      }),
    },
    ...problemResponses(...BODY_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, "link_invalid"),
  },
});
