import type { Env, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { TrieRouter } from "hono/router/trie-router";

// Hono's method name for middleware registered on every method; such entries are not endpoints.
const ANY_METHOD = "ALL";

interface RouteEntry {
  method: string;
  path: string;
}

/**
 * Runs `middleware` only when the request reaches an endpoint, so a request for an unknown path or
 * method is answered 404/405 before its body is judged.
 */
export function endpointsOnly<E extends Env>(middleware: MiddlewareHandler<E>): MiddlewareHandler<E> {
  return (c, next) => {
    const reachesEndpoint = matchedRoutes(c).some((route) => route.method !== ANY_METHOD);
    return reachesEndpoint ? middleware(c, next) : next();
  };
}

/**
 * Hono answers an unknown method on a known path with a plain 404. To answer 405 with an `Allow`
 * header instead, index the app's own routes by path (once, on first use) and ask which methods
 * a path has.
 */
export function allowedMethodsLookup(routes: () => RouteEntry[]): (path: string) => string[] {
  let router: TrieRouter<string> | undefined;
  return (path) => {
    if (!router) {
      router = new TrieRouter<string>();
      for (const route of routes()) {
        if (route.method !== ANY_METHOD) router.add(ANY_METHOD, route.path, route.method);
      }
    }
    const methods = new Set(router.match("GET", path)[0].map(([method]) => method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}
