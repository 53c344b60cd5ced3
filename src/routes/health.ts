import { createRoute } from "@hono/zod-openapi";
import { HealthSchema, LiveSchema } from "../schemas/health.ts";
import pkg from "../../package.json" with { type: "json" };
import { createRouter } from "../http/router.ts";
import { checkDatabase } from "../services/health.ts";
import { jsonContent } from "./json-body.ts";
import { serviceContext } from "./service-context.ts";
import { DATABASE_PROBLEMS, problemResponses } from "./problems.ts";

const liveRoute = createRoute({
  method: "get",
  path: "/health/live",
  operationId: "live",
  tags: ["Health"],
  security: [],
  summary: "Liveness, without the database",
  description: "Answers from the Worker alone (no SQL): for load balancers and uptime checks that must not load the database.",
  responses: {
    200: { description: "The Worker runs", content: jsonContent(LiveSchema, { status: "ok", version: pkg.version }) },
  },
});

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  operationId: "health",
  tags: ["Health"],
  security: [],
  summary: "Liveness and database reachability",
  description: "Runs one trivial query (one SQL round trip) and reports the running API version.",
  responses: {
    200: {
      description: "The API and its database answer",
      content: jsonContent(HealthSchema, { status: "ok", version: pkg.version, database: "ok" }),
    },
    ...problemResponses(...DATABASE_PROBLEMS),
  },
});

export const healthRouter = createRouter()
  .openapi(liveRoute, (c) => c.json({ status: "ok" as const, version: pkg.version }, 200))
  .openapi(healthRoute, async (c) => {
    await checkDatabase(serviceContext(c));
    return c.json({ status: "ok" as const, version: pkg.version, database: "ok" as const }, 200);
  });
