import { createRoute } from "@hono/zod-openapi";
import { POLICY } from "../../policy.ts";
import { CancelDeletionRequestSchema, DataExportSchema } from "../../schemas/leaving.ts";
import { MessageSchema } from "../../schemas/message.ts";
import { UserSchema } from "../../schemas/user.ts";
import { adminOnly, anyUser, bearerSecurity as security, userWrites } from "../access.ts";
import { exampleExport, exampleUser } from "../examples.ts";
import { jsonBody, jsonContent } from "../json-body.ts";
import { MESSAGES } from "../message.ts";
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

const tags = ["Leaving"];
const DAY_SECONDS = 24 * 60 * 60;
const exportBody = jsonContent(DataExportSchema, exampleExport);
const EXPORT_RULES =
  "Needs a recent sign-in (`reauthentication_required`). An account's data is exported at most once every " +
  `${POLICY.exports.intervalSeconds / 60} minutes, ` +
  "whoever asks (429 with `Retry-After`), and its owner is mailed each time. One SQL round trip.";

export const deleteMe = createRoute({
  method: "delete",
  path: "/users/me",
  operationId: "deleteMe",
  tags,
  security,
  middleware: [anyUser, userWrites] as const,
  summary: "Delete your account",
  description:
    "Your account turns `pending_deletion`: every session ends at once, nobody can sign in (login answers 403 " +
    "`account_pending_deletion` with `deletion_due_at`), and its data is erased at `deletion_due_at`, " +
    `${POLICY.lifetimes.DELETION_GRACE_SECONDS / DAY_SECONDS} days from now ` +
    "(`DELETION_GRACE_SECONDS`). Until then the link mailed to you cancels it, once (POST /auth/deletion/cancel). " +
    "Erasure removes the account and everything that names you; the audit trail keeps its events under a pseudonym. " +
    "Needs a recent sign-in with every factor of the account (`reauthentication_required`). The last active admin " +
    "cannot leave (`last_admin`). One SQL round trip.",
  responses: {
    202: {
      description: "Deletion scheduled: the account as it now stands",
      content: jsonContent(UserSchema, { ...exampleUser, status: "pending_deletion", deletion_due_at: "2026-12-01T12:00:00.000Z" }),
    },
    ...problemResponses(...SIGNED_IN_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, ...STEP_UP_PROBLEMS, "forbidden", "last_admin"),
  },
});

export const cancelDeletion = createRoute({
  method: "post",
  path: "/auth/deletion/cancel",
  operationId: "cancelDeletion",
  tags,
  security: [],
  summary: "Cancel a deletion with its mailed token",
  description:
    "The token comes from the link mailed when the deletion was asked for: `DELETION_CANCEL_URL#token=…`, a page of the " +
    "app that reads the fragment (which never reaches a server) and posts it here; following the link changes nothing by " +
    "itself. It works once, until the data is erased. The account is verified again, as it was; nobody is signed in " +
    "(sign in as usual), and the owner is told. An unknown, used or late token answers `deletion_token_invalid`. One SQL " +
    "round trip.",
  request: jsonBody(CancelDeletionRequestSchema, { token: "q3Zp0bS1x7vJmW2eN8cK4rT6yU9aD5fG1hL3oP0iE2s" }),
  responses: {
    200: { description: "Cancelled", content: jsonContent(MessageSchema, { message: MESSAGES.deletionCancelled }) },
    ...problemResponses(...BODY_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, "deletion_token_invalid"),
  },
});

export const exportMe = createRoute({
  method: "get",
  path: "/users/me/export",
  operationId: "exportMyData",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "Download everything kept about you",
  description:
    "One JSON document: your account, your sessions (client, network, times), your second factor as facts (on since " +
    "when, recovery codes left), the codes and messages still kept for your address, and the audit trail's events about " +
    `you. Never a password, code, token or hash. ${EXPORT_RULES}`,
  responses: {
    200: { description: "Your data", content: exportBody },
    ...problemResponses(...SIGNED_IN_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, ...STEP_UP_PROBLEMS, "forbidden"),
  },
});

export const exportUser = createRoute({
  method: "get",
  path: "/users/{id}/export",
  operationId: "exportUserData",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "Export a user's data (admin)",
  description:
    "The document GET /users/me/export answers, for a request about a person's data received by other means: recorded in " +
    `the audit trail (\`data_exported\`, \`by: admin\`). The caller must still be an active admin. ${EXPORT_RULES}`,
  request: { params: UserIdParamSchema },
  responses: {
    200: { description: "The user's data", content: exportBody },
    ...problemResponses(
      ...ADMIN_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      "user_not_found",
    ),
  },
});
