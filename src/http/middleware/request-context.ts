import type { MiddlewareHandler } from "hono";
import type { AppEnv, Clock } from "../router.ts";
import { getConfig } from "../../config.ts";
import { databaseOf } from "../../services/context.ts";
import { createLogger } from "../../log.ts";
import type { RevocationEdge } from "../../edge/revocations.ts";

export interface RequestDependencies {
  clock: Clock;
  revocationEdge: (env: Env) => RevocationEdge;
}

/**
 * Puts a logger (every line with the request id), the validated settings, the database client, the
 * clock and the edge stores where every later step finds them. No line is written per request: Workers
 * observability records every invocation (method, path, status, duration) at no cost to the request;
 * the Worker logs only what that record lacks (errors, security events, failing dependencies).
 */
export function requestContext({ clock, revocationEdge }: RequestDependencies): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("log", createLogger({ request_id: c.get("requestId") }));
    const config = getConfig(c.env);
    c.set("config", config);
    c.set("db", databaseOf(config));
    c.set("clock", clock);
    c.set("edge", revocationEdge(c.env));
    return next();
  };
}

/**
 * Every request gets an id made here, answered in X-Request-Id: never one a client chose, since the logs and
 * the audit trail trust it to tell requests apart.
 */
export function serverRequestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const id = crypto.randomUUID();
    c.set("requestId", id);
    c.header("X-Request-Id", id);
    await next();
  };
}
