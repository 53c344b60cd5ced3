import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.ts";
import { createLogger } from "../log.ts";

/**
 * Gives the request its logger (every line carries the request id) and writes one line per request.
 * Only the path is logged: query strings and headers can carry tokens, codes or email addresses.
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = Date.now();
    const log = createLogger({ request_id: c.get("requestId") });
    c.set("log", log);
    await next();
    const line = { method: c.req.method, path: c.req.path, status: c.res.status, duration_ms: Date.now() - started };
    if (c.res.status >= 500) log.error("request", line);
    else log.info("request", line);
  };
}
