import { neon, neonConfig } from "@neondatabase/serverless";
import { Kysely } from "kysely";
import { NeonDialect } from "kysely-neon";
import type { DB } from "./schema.ts";

/** Typed query builder over Neon's HTTP driver: every executed statement is one HTTP round trip. */
export type Db = Kysely<DB>;

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** True for a database URL whose host is this machine: a Neon-protocol endpoint served here over HTTP. */
export function isLocalEndpoint(databaseUrl: string): boolean {
  return LOOPBACK_HOSTS.has(new URL(databaseUrl).hostname);
}

// Neon's default endpoint rewrites the host to `api.<rest-of-host>` over HTTPS. A database URL whose
// host is this machine names a Neon-protocol endpoint served there (the project's local services, or
// Neon's local proxy), reached over plain HTTP on the URL's own port. Any other host keeps Neon's rule.
const neonEndpoint = neonConfig.fetchEndpoint;
neonConfig.fetchEndpoint = (host, port, options) => {
  if (LOOPBACK_HOSTS.has(host)) return `http://${host}:${port}/sql`;
  return typeof neonEndpoint === "function" ? neonEndpoint(host, port, options) : neonEndpoint;
};

const clients = new Map<string, Db>();

/** One client per database URL and isolate: the HTTP driver keeps no connection, so sharing is free. */
export function getDb(databaseUrl: string): Db {
  let db = clients.get(databaseUrl);
  if (!db) {
    db = new Kysely<DB>({ dialect: new NeonDialect({ neon: neon(databaseUrl) }) });
    clients.set(databaseUrl, db);
  }
  return db;
}
