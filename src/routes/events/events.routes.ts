import { createRoute, z } from "@hono/zod-openapi";
import { AuthEventSchema, AuthEventTypeSchema, DailyCountSchema } from "../../schemas/events.ts";
import { EmailSchema, UserIdSchema } from "../../schemas/user.ts";
import { adminOnly, bearerSecurity as security } from "../access.ts";
import { CursorSchema, NextPageHeaders } from "../cursor.ts";
import { exampleEvent } from "../examples.ts";
import { jsonContent } from "../json-body.ts";
import { LimitSchema, UserIdParamSchema } from "../params.ts";
import { ADMIN_PROBLEMS, DATABASE_PROBLEMS, PARAMETER_PROBLEMS, problemResponses } from "../problems.ts";

const tags = ["Audit"];
const eventPage = {
  description: "A page of events, newest first",
  headers: NextPageHeaders,
  content: jsonContent(z.array(AuthEventSchema), [exampleEvent]),
};
const PageQuery = z.object({ limit: LimitSchema, cursor: CursorSchema.optional(), type: AuthEventTypeSchema.optional() });

export const list = createRoute({
  method: "get",
  path: "/events",
  operationId: "listEvents",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "The audit trail (admin)",
  description:
    "Who did what to which account, from where, newest first, each event with the account's and the actor's addresses " +
    "as they are now (`user_email`, `actor_email`). `user_id` or `email` (not both) keeps one account's events; 404 " +
    '`user_not_found` when no account has that id or address. When there are more, the `Link: <…>; rel="next"` header ' +
    "has the next page's URL. Events never hold passwords, codes or tokens; they are kept 90 days by default.",
  request: {
    query: PageQuery.extend({
      user_id: UserIdSchema.optional(),
      email: EmailSchema.optional().meta({ description: "The events of the account with this address" }),
    }).refine((query) => query.user_id === undefined || query.email === undefined, {
      path: ["email"],
      message: "Give user_id or email, not both",
    }),
  },
  responses: {
    200: eventPage,
    ...problemResponses(...ADMIN_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS, "user_not_found"),
  },
});

export const listOfUser = createRoute({
  method: "get",
  path: "/users/{id}/events",
  operationId: "listUserEvents",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "A user's audit trail (admin)",
  description:
    'The events about one account, newest first, paged like GET /events (`Link: <…>; rel="next"`); 404 `user_not_found` ' +
    "when no account has this id.",
  request: { params: UserIdParamSchema, query: PageQuery },
  responses: {
    200: eventPage,
    ...problemResponses(...ADMIN_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS, "user_not_found"),
  },
});

export const daily = createRoute({
  method: "get",
  path: "/events/daily",
  operationId: "countEventsPerDay",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "Sign-ups, sign-ins and refused sign-ins per day (admin)",
  description:
    "The last `days` days (30 unless asked, at most 90, the audit trail's default retention) in UTC, oldest first, " +
    "today's so far included, every day present: accounts made, sign-ins that started a session, and sign-ins refused " +
    "at the password. Counted from the audit trail in one statement over an index of its own.",
  request: {
    query: z.object({
      days: z.coerce.number().int().min(1).max(90).default(30).openapi({ example: 30 }),
    }),
  },
  responses: {
    200: {
      description: "One entry a day, oldest first",
      content: jsonContent(z.array(DailyCountSchema), [{ day: "2026-11-24", signed_up: 4, signed_in: 57, refused: 9 }]),
    },
    ...problemResponses(...ADMIN_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS),
  },
});
