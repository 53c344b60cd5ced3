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
 * Runs the body rules only when the request reaches an endpoint that takes a request body (`bodyTypes` answers,
 * for a route as Hono registered it, method and path with `:param`s, the media types its body may have), with those
 * types. A request for an unknown path or method is answered 404/405 before its body is judged, and an endpoint
 * without a body never reads one, whatever is sent.
 */
export function bodyEndpointsOnly<E extends Env>(
  bodyTypes: (method: string, path: string) => string[] | undefined,
  rules: (mediaTypes: string[]) => MiddlewareHandler<E>,
): MiddlewareHandler<E> {
  return (c, next) => {
    const types = new Set(
      matchedRoutes(c).flatMap((route) => (route.method === ANY_METHOD ? [] : (bodyTypes(route.method, route.path) ?? []))),
    );
    return types.size > 0 ? rules([...types])(c, next) : next();
  };
}

/** The media types of each operation's request body, from an OpenAPI registry, keyed as Hono registers routes. */
export function bodyOperationsLookup(
  operations: () => { method: string; path: string; mediaTypes: string[] }[],
): (method: string, path: string) => string[] | undefined {
  let withBody: Map<string, string[]> | undefined;
  return (method, path) => {
    withBody ??= new Map(
      operations()
        .filter((operation) => operation.mediaTypes.length > 0)
        .map((operation) => [
          `${operation.method.toUpperCase()} ${operation.path.replaceAll(/\{([^}]+)\}/g, ":$1")}`,
          operation.mediaTypes,
        ]),
    );
    return withBody.get(`${method} ${path}`);
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
