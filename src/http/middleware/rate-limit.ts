import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../router.ts";
import { networkOf } from "../client-address.ts";
import { ApiError } from "../../errors.ts";

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
 * Limits each client network (an IPv4 address, an IPv6 /64) across the routes it guards. Cloudflare
 * sets CF-Connecting-IP on every request it forwards; a request without it has no address to count
 * against.
 */
export function limitPerClientAddress(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const network = networkOf(c.req.header("CF-Connecting-IP"));
    if (network) await enforceRateLimit(c.env.AUTH_IP_LIMITER, `ip:${network}`);
    return next();
  };
}

/** Limits the writes each signed-in user makes (after the bearer guard), whatever address they come from. */
export function limitWritesPerUser(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await enforceRateLimit(c.env.USER_WRITE_LIMITER, `user:${c.var.auth.userId}`);
    return next();
  };
}
