import type { Config } from "../config.ts";
import { type Db, getDb } from "../db/client.ts";
import type { EventContext } from "../db/events.ts";
import type { Logger } from "../log.ts";
import type { RevocationEdge } from "../edge/revocations.ts";

/** Who is calling, as far as a request tells. */
export interface ClientInfo {
  /** The client's IP address as Cloudflare saw it (CF-Connecting-IP); undefined when no edge set it. */
  address: string | undefined;
  /** What per-client limits and bindings key by: an IPv4 address or an IPv6 /64; "" when unknown. */
  network: string;
  /** The User-Agent header, cut to USER_AGENT_MAX_LENGTH. */
  userAgent: string;
  /** The country Cloudflare places the client in (ISO 3166-1 alpha-2), when it says. */
  country: string | null;
}

/** What every use case needs from the outside world, so any layer can be called from a test. */
export interface ServiceContext {
  db: Db;
  config: Config;
  edge: RevocationEdge;
  /** The one clock every timestamp a rule compares comes from. */
  now: Date;
  client: ClientInfo;
  /** Who is acting, from where, for the audit trail. */
  events: EventContext;
  /** Work to finish after the response (waitUntil on Workers). */
  defer: (work: Promise<unknown>) => void;
  log: Logger;
}

export function secondsAfter(date: Date, seconds: number): Date {
  return new Date(date.getTime() + seconds * 1000);
}

/** The database a configuration names: one client per URL and isolate (the HTTP driver keeps no connection). */
export function databaseOf(config: Config): Db {
  return getDb(config.DATABASE_URL, config.DATABASE_TIMEOUT_MS);
}
