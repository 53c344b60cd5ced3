import { neon, neonConfig, type NeonQueryFunction } from "@neondatabase/serverless";
import { type CompiledQuery, Kysely } from "kysely";
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

// neonConfig is global to the isolate, and so is this: every database call of the isolate gives up
// after the configured time (the abort also ends a response body that stalls halfway).
let fetchTimeoutMs = 5000;
neonConfig.fetchFunction = (input: string | URL | Request, init?: RequestInit) =>
  fetch(input, { ...init, signal: AbortSignal.timeout(fetchTimeoutMs) });

const clients = new Map<string, Db>();
const batchDrivers = new WeakMap<Db, NeonQueryFunction<false, false>>();

/**
 * One client per database URL and isolate: the HTTP driver keeps no connection, so sharing is free.
 * Each round trip is given up after `timeoutMs`.
 */
export function getDb(databaseUrl: string, timeoutMs = fetchTimeoutMs): Db {
  fetchTimeoutMs = timeoutMs;
  let db = clients.get(databaseUrl);
  if (!db) {
    const driver = neon(databaseUrl);
    db = new Kysely<DB>({ dialect: new NeonDialect({ neon: driver }) });
    batchDrivers.set(db, driver);
    clients.set(databaseUrl, db);
  }
  return db;
}

/**
 * Runs `first` (in order), then `then`, as one non-interactive transaction: one round trip, all or nothing, and
 * each statement sees everything committed before the one before it returned (each statement of a READ
 * COMMITTED transaction takes a fresh snapshot). Returns the rows of `then`.
 */
export async function runAfter<O>(db: Db, first: CompiledQuery[], then: CompiledQuery<O>): Promise<O[]> {
  const driver = batchDrivers.get(db);
  if (!driver) throw new Error("batches need the Neon HTTP driver (getDb)");
  const results = await driver.transaction((txn) => [...first, then].map((query) => txn.query(query.sql, [...query.parameters])));
  // The driver hands back untyped rows; Kysely typed the statement that produced them, as its own
  // drivers do for every query.
  return (results.at(-1) ?? []) as O[];
}
