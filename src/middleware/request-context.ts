import type { MiddlewareHandler } from "hono";
import type { AppEnv, Clock } from "../app-env.ts";
import { getConfig } from "../config.ts";
import { getDb } from "../db/client.ts";

/** Puts the validated settings, the database client and the clock where every later step finds them. */
export function requestContext(clock: Clock): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const config = getConfig(c.env);
    c.set("config", config);
    c.set("db", getDb(config.DATABASE_URL));
    c.set("clock", clock);
    return next();
  };
}
