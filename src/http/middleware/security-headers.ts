import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../router.ts";
import type { Config } from "../../config.ts";

// JSON answers are never rendered as documents; a page that is (the docs) sets its own policy.
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

const hardening = secureHeaders({ contentSecurityPolicy: undefined, crossOriginResourcePolicy: "cross-origin" });

/**
 * HSTS, nosniff, frame and referrer policies, a deny-all CSP unless the route set its own, and
 * `Cache-Control: no-store` unless the route chose a policy: answers carry tokens, codes and users,
 * which no cache along the way may keep (RFC 6749 §5.1, RFC 9111 §5.2.2.5). Only public answers (the
 * JWKS) opt in to caching.
 */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await hardening(c, next);
    if (!c.res.headers.has("Content-Security-Policy")) c.res.headers.set("Content-Security-Policy", API_CSP);
    if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
  };
}

/** CORS for the configured origins. The API takes bearer tokens, not cookies, so "*" is safe. */
export function corsFromConfig(): MiddlewareHandler<AppEnv> {
  // built once per configuration (once per isolate), not on every request
  const handlers = new WeakMap<Config, MiddlewareHandler<AppEnv>>();
  return (c, next) => {
    const config = c.var.config;
    let handler = handlers.get(config);
    if (!handler) {
      const origins = config.CORS_ORIGINS;
      handler = cors({
        // hono's cors reads "*" as a wildcard only as a string, not inside a list
        origin: origins.includes("*") ? "*" : origins,
        allowHeaders: ["Authorization", "Content-Type"],
        exposeHeaders: [
          "X-Request-Id",
          "Link",
          "X-Total-Count",
          "X-Total-Count-Exact",
          "Content-Disposition",
          "WWW-Authenticate",
          "Retry-After",
        ],
        maxAge: 600,
      });
      handlers.set(config, handler);
    }
    return handler(c, next);
  };
}
