import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.ts";
import { ApiError } from "../errors.ts";

// Workers rate limits count in windows of this many seconds (wrangler.toml `period`).
const WINDOW_SECONDS = 60;

/** Refuses with 429 once `key` has used up its allowance on `limiter`. */
export async function enforceRateLimit(limiter: RateLimit, key: string): Promise<void> {
  const { success } = await limiter.limit({ key });
  if (!success) {
    throw new ApiError("too_many_requests", "Too many attempts. Wait a minute and try again.", { retryAfterSeconds: WINDOW_SECONDS });
  }
}

/**
 * Limits each client address across the routes it guards. Cloudflare sets CF-Connecting-IP on every
 * request it forwards; a request without it has no address to count against.
 */
export function limitPerClientAddress(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const address = c.req.header("CF-Connecting-IP");
    if (address) await enforceRateLimit(c.env.AUTH_IP_LIMITER, `ip:${address}`);
    return next();
  };
}
