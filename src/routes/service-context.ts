import type { Context } from "hono";
import type { AppEnv } from "../app-env.ts";
import type { ServiceContext } from "../services/context.ts";

/** Hands a use case what it needs from the request, and nothing of Hono. */
export function serviceContext(c: Context<AppEnv>): ServiceContext {
  return {
    db: c.var.db,
    config: c.var.config,
    edge: c.var.edge,
    now: c.var.clock(),
    defer: (work) => c.executionCtx.waitUntil(work),
    log: c.var.log,
  };
}
