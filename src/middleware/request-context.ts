import type { MiddlewareHandler } from "hono";
import type { AppEnv, Clock } from "../app-env.ts";
import { getConfig } from "../config.ts";
import { getDb } from "../db/client.ts";
import type { RevocationEdge } from "../revocation.ts";

export interface RequestDependencies {
  clock: Clock;
  revocationEdge: (env: Env) => RevocationEdge;
}

/** Puts the validated settings, the database client, the clock and the edge stores where every later step finds them. */
export function requestContext({ clock, revocationEdge }: RequestDependencies): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const config = getConfig(c.env);
    c.set("config", config);
    c.set("db", getDb(config.DATABASE_URL, config.DATABASE_TIMEOUT_MS));
    c.set("clock", clock);
    c.set("edge", revocationEdge(c.env));
    return next();
  };
}
