import type { RevocationEdge } from "./revocation.ts";

/** The edge stores in production: the KV namespace bound as REVOCATIONS and this location's default cache. */
export function productionEdge(env: Env): RevocationEdge {
  return {
    kv: env.REVOCATIONS,
    // looked up when first used: requests that never check a session (and the OpenAPI document, which is
    // also built on Node, where there is no Cache API) need none
    get cache() {
      return caches.default;
    },
  };
}
