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
 * Runs `middleware` only when the request reaches an endpoint that takes a request body (`takesBody`
 * answers for a route as Hono registered it: method and path with `:param`s). A request for an unknown
 * path or method is answered 404/405 before its body is judged, and an endpoint without a body never
 * reads one, whatever is sent.
 */
export function bodyEndpointsOnly<E extends Env>(
  takesBody: (method: string, path: string) => boolean,
  middleware: MiddlewareHandler<E>,
): MiddlewareHandler<E> {
  return (c, next) => {
    const reachesBodyEndpoint = matchedRoutes(c).some((route) => route.method !== ANY_METHOD && takesBody(route.method, route.path));
    return reachesBodyEndpoint ? middleware(c, next) : next();
  };
}

/** The operations of an OpenAPI registry that declare a request body, keyed as Hono registers routes. */
export function bodyOperationsLookup(
  operations: () => { method: string; path: string; hasBody: boolean }[],
): (method: string, path: string) => boolean {
  let withBody: Set<string> | undefined;
  return (method, path) => {
    withBody ??= new Set(
      operations()
        .filter((operation) => operation.hasBody)
        .map((operation) => `${operation.method.toUpperCase()} ${operation.path.replaceAll(/\{([^}]+)\}/g, ":$1")}`),
    );
    return withBody.has(`${method} ${path}`);
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
