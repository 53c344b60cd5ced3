import { neon, neonConfig } from "@neondatabase/serverless";
import type { LocalServices } from "../../../tools/local-services/server.ts";

// Neon's default endpoint is https://api.<host>/sql; the local services answer on the connection
// string's own host and port.
neonConfig.fetchEndpoint = (host, port) => `http://${host}:${port}/sql`;

/** The Neon HTTP driver pointed at the local services, as the given database user. */
export function neonClient(services: LocalServices, user = "local") {
  return neon(neonConnectionString(services, user));
}

export function neonConnectionString(services: LocalServices, user = "local"): string {
  return `postgres://${user}:local@127.0.0.1:${services.port}/coffee`;
}
