import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { PGlite } from "@electric-sql/pglite";
import { applyMigrations } from "../migrations/apply-migrations.ts";
import { MigrationError } from "../migrations/migration-error.ts";
import { defaultMigrationsDir, defaultPgliteDir } from "../repo-paths.ts";
import { openPglite, pgliteBackend } from "./backends/pglite-backend.ts";
import { createPostgresPool, postgresBackend } from "./backends/postgres-backend.ts";
import type { SqlBackend } from "./backends/sql-backend.ts";
import { emptyReply, HttpError, jsonReply, textReply, type Handler, type Reply } from "./http-reply.ts";
import { createMailCatcher } from "./mail/mail-catcher.ts";
import { OIDC_PATH } from "./oidc/accounts.ts";
import { createLocalOidcProvider, type LocalOidcProvider } from "./oidc/provider.ts";
import { createPwnedPasswords, RANGE_ROUTE, rangeRouteOf } from "./pwned-passwords/range-endpoint.ts";
import { sqlEndpoint, sqlFaultsEndpoints, sqlGatesEndpoints } from "./sql-endpoint.ts";
import { createSqlGates } from "./sql-gates.ts";
import { createSqlFaults } from "./sql-faults.ts";
import { createStats, type Stats } from "./stats.ts";

/** Where `npm run services` and `npm run dev` listen, and where `npm run db:migrate` looks. */
export const DEFAULT_SERVICES_PORT = 8788;

/** The API's callback for the local identity provider under `npm run dev` (wrangler dev on :8787). */
export const DEV_OIDC_REDIRECT_URI = "http://localhost:8787/auth/oidc/local/callback";

export interface LocalServicesOptions {
  /** 0 picks a free port; default 8788. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** A real Postgres to serve; otherwise PGlite. */
  databaseUrl?: string;
  /** PGlite's data folder, default "<repo>/.local/pglite"; "memory://" for a database in memory only. */
  dataDir?: string;
  /** An open PGlite to serve instead of opening dataDir (for tests that also reach it another way); the caller closes it. */
  pglite?: PGlite;
  /** Applied at start when the folder exists, and by POST /migrate; default "<repo>/migrations". */
  migrationsDir?: string;
  /** Added to every /sql answer, as the trip from an edge location to the database's region adds it. */
  sqlLatencyMs?: number;
  /** Where the local identity provider lets the API's client come back to (its callback URLs). */
  oidcRedirectUris?: string[];
  log?: (line: string) => void;
}

export interface LocalServices {
  /** http://HOST:PORT */
  url: string;
  /** The local identity provider's issuer: http://HOST:PORT/oidc */
  oidcIssuer: string;
  port: number;
  /** Stops the server (after the requests under way) and closes the database. */
  close(): Promise<void>;
}

type Log = (line: string) => void;

interface OpenDatabase {
  backend: SqlBackend;
  close(): Promise<void>;
}

/**
 * Starts the local stand-ins for Neon, Resend and Pwned Passwords in one HTTP server: the Neon-protocol SQL
 * endpoint, the mail catcher, the breached-password range API, request counts and a migrations trigger.
 * Opens the database and applies the migrations before it listens.
 */
export async function startLocalServices(options: LocalServicesOptions = {}): Promise<LocalServices> {
  const log = options.log ?? (() => {});
  const migrationsDir = options.migrationsDir ?? defaultMigrationsDir;
  const host = options.host ?? "127.0.0.1";
  const database = await openDatabase(options, log);
  try {
    if (existsSync(migrationsDir)) logApplied(await applyMigrations(database.backend.migrations, migrationsDir), log);
    const stats = createStats();
    const endpoints = createEndpoints(database.backend, migrationsDir, stats, log, options.sqlLatencyMs ?? 0);
    // the provider's issuer names the port, known once the server listens
    const mounted: { oidc?: LocalOidcProvider } = {};
    const server = createServer((request, response) => {
      if (mounted.oidc && request.url?.startsWith(`${OIDC_PATH}/`)) {
        stats.countRequest(`${request.method} ${OIDC_PATH}`);
        mounted.oidc.handle(request, response);
        return;
      }
      void dispatch(request, endpoints, stats, log)
        .then((reply) => (reply.drop ? response.destroy() : response.writeHead(reply.status, reply.headers).end(reply.body)))
        .catch((error: unknown) => log(`Could not answer ${request.method} ${request.url}: ${String(error)}`));
    });
    const port = await listen(server, options.port ?? DEFAULT_SERVICES_PORT, host);
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    const oidc = createLocalOidcProvider(`${url}${OIDC_PATH}`, options.oidcRedirectUris ?? [DEV_OIDC_REDIRECT_URI]);
    mounted.oidc = oidc;
    return {
      url,
      oidcIssuer: oidc.issuer,
      port,
      close: async () => {
        await closeServer(server);
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

async function openDatabase(options: LocalServicesOptions, log: Log): Promise<OpenDatabase> {
  if (options.databaseUrl !== undefined) {
    const pool = createPostgresPool(options.databaseUrl);
    const close = () => pool.end();
    await closingOnFailure(close, () => pool.query("select 1"));
    log(`Database: Postgres at ${withoutCredentials(options.databaseUrl)}`);
    return { backend: postgresBackend(pool), close };
  }
  if (options.pglite !== undefined) {
    log("Database: the PGlite instance given");
    return { backend: await pgliteBackend(options.pglite), close: async () => {} };
  }
  const dataDir = options.dataDir ?? defaultPgliteDir;
  const db = await openPglite(dataDir);
  const close = () => db.close();
  const backend = await closingOnFailure(close, () => pgliteBackend(db));
  log(`Database: PGlite in ${dataDir}`);
  return { backend, close };
}

async function closingOnFailure<T>(close: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    await close();
    throw error;
  }
}

/** The routes, by "METHOD /path"; each one's requests are counted in /stats. */
function createEndpoints(backend: SqlBackend, migrationsDir: string, stats: Stats, log: Log, sqlLatencyMs: number): Map<string, Handler> {
  const mail = createMailCatcher(log);
  const faults = createSqlFaults();
  const faultSwitch = sqlFaultsEndpoints(faults);
  const gates = createSqlGates();
  const gateSwitch = sqlGatesEndpoints(gates);
  const pwned = createPwnedPasswords();
  return new Map([
    ["POST /sql", sqlEndpoint(backend, stats, faults, gates, sqlLatencyMs)],
    ["POST /sql/gates", gateSwitch.arm],
    ["POST /sql/gates/reached", gateSwitch.reached],
    ["POST /sql/gates/release", gateSwitch.release],
    ["POST /sql/faults", faultSwitch.arm],
    ["DELETE /sql/faults", faultSwitch.clear],
    ["POST /emails", mail.send],
    ["GET /emails", mail.list],
    ["DELETE /emails", mail.clear],
    ["POST /emails/failures", mail.failNext],
    [RANGE_ROUTE, pwned.range],
    ["POST /range/faults", pwned.armFault],
    ["DELETE /range/faults", pwned.clearFault],
    ["GET /", mail.page],
    ["POST /migrate", migrateEndpoint(backend, migrationsDir, log)],
  ]);
}

function migrateEndpoint(backend: SqlBackend, migrationsDir: string, log: Log): Handler {
  return async () => {
    try {
      const applied = await applyMigrations(backend.migrations, migrationsDir);
      logApplied(applied, log);
      return jsonReply(200, { applied });
    } catch (error) {
      if (error instanceof MigrationError) return textReply(500, error.message);
      throw error;
    }
  };
}

async function dispatch(request: IncomingMessage, endpoints: Map<string, Handler>, stats: Stats, log: Log): Promise<Reply> {
  const url = new URL(request.url ?? "/", "http://localhost");
  const route = rangeRouteOf(request.method, url.pathname) ?? `${request.method} ${url.pathname}`;
  // The counts themselves are not counted: reading them must not change them.
  if (route === "GET /stats") return jsonReply(200, stats.snapshot());
  if (route === "DELETE /stats") {
    stats.reset();
    return emptyReply();
  }
  const handler = endpoints.get(route);
  if (handler === undefined) return textReply(404, `Nothing at ${route}`);
  stats.countRequest(route);
  try {
    return await handler(request, url);
  } catch (error) {
    if (error instanceof HttpError) return textReply(error.status, error.message);
    log(`${route} failed: ${error instanceof Error ? error.stack : String(error)}`);
    return textReply(500, `Internal error: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function logApplied(applied: string[], log: Log): void {
  for (const name of applied) log(`Applied migration ${name}`);
}

function withoutCredentials(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `${url.hostname}:${url.port || "5432"}${url.pathname}`;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error(`Not listening on a TCP port: ${address}`));
      else resolve(address.port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
