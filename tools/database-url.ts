import { isLocalEndpoint } from "../src/db/client.ts";

/**
 * The Postgres a command-line tool should connect to directly: --database-url, else DATABASE_URL when
 * it names another machine. On this machine DATABASE_URL is the Worker's setting, which points at the
 * local services' SQL endpoint (HTTP, not Postgres); the tools reach those through the services.
 */
export function directDatabaseUrl(flag: string | undefined, environment: string | undefined): string | undefined {
  if (flag) return flag;
  if (!environment) return undefined;
  return isLocalEndpoint(environment) ? undefined : environment;
}
