import { createRoute, z } from "@hono/zod-openapi";
import pkg from "../../package.json" with { type: "json" };
import { createRouter } from "../app-env.ts";
import { pingDatabase } from "../db/health.ts";
import { ApiError } from "../errors.ts";
import { problemResponses } from "./openapi-schemas.ts";

const HealthSchema = z
  .object({
    status: z.literal("ok"),
    version: z.string().openapi({ example: "0.1.0" }),
    database: z.literal("ok"),
  })
  .openapi("Health");

const LiveSchema = z.object({ status: z.literal("ok"), version: z.string().openapi({ example: "0.1.0" }) }).openapi("Live");

const liveRoute = createRoute({
  method: "get",
  path: "/health/live",
  tags: ["Health"],
  summary: "Liveness, without the database",
  description: "Answers from the Worker alone (no SQL): for load balancers and uptime checks that must not load the database.",
  responses: {
    200: { description: "The Worker runs", content: { "application/json": { schema: LiveSchema } } },
  },
});

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  tags: ["Health"],
  summary: "Liveness and database reachability",
  description: "Runs one trivial query (one SQL round trip) and reports the running API version.",
  responses: {
    200: { description: "The API and its database answer", content: { "application/json": { schema: HealthSchema } } },
    ...problemResponses(503),
  },
});

export const healthRouter = createRouter()
  .openapi(liveRoute, (c) => c.json({ status: "ok" as const, version: pkg.version }, 200))
  .openapi(healthRoute, async (c) => {
    try {
      await pingDatabase(c.var.db);
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "health check failed", error: String(error) }));
      throw new ApiError("service_unavailable", "The database is not reachable.");
    }
    return c.json({ status: "ok" as const, version: pkg.version, database: "ok" as const }, 200);
  });
