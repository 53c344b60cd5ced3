import { openPool } from "../postgres/pool.ts";
import { parseFlags } from "../command-line.ts";
import { directDatabaseUrl } from "../database-url.ts";
import { openPglite } from "../local-services/backends/pglite-backend.ts";
import { DEFAULT_SERVICES_PORT } from "../local-services/server.ts";
import { applyMigrations } from "../migrations/apply-migrations.ts";
import { pgliteMigrationExecutor } from "../migrations/pglite-executor.ts";
import { postgresMigrationExecutor } from "../migrations/postgres-executor.ts";
import { defaultMigrationsDir, defaultPgliteDir } from "../repo-paths.ts";

const USAGE = `npm run db:migrate -- [flags]: applies the pending migrations in migrations/
  --database-url URL   to this Postgres, over TCP; Neon too (postgres://...?sslmode=require).
                       DATABASE_URL in the environment counts as one when its host is not this machine.
  otherwise to the local database: through the running local services
  --services-url URL   (default http://127.0.0.1:${DEFAULT_SERVICES_PORT}), or, when they are not running,
  --data-dir DIR       in the embedded PGlite in DIR (default .local/pglite), opened directly`;

const values = parseFlags(
  {
    "database-url": { type: "string" },
    "services-url": { type: "string", default: `http://127.0.0.1:${DEFAULT_SERVICES_PORT}` },
    "data-dir": { type: "string", default: defaultPgliteDir },
  },
  USAGE,
);

try {
  const databaseUrl = directDatabaseUrl(values["database-url"], process.env.DATABASE_URL);
  const applied =
    databaseUrl === undefined ? await migrateLocalDatabase(values["services-url"], values["data-dir"]) : await migratePostgres(databaseUrl);
  console.log(applied.length === 0 ? "Nothing to apply: up to date." : applied.map((name) => `Applied ${name}`).join("\n"));
} catch (error) {
  console.error(`db:migrate failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}

async function migratePostgres(databaseUrl: string): Promise<string[]> {
  const url = new URL(databaseUrl);
  console.log(`Migrating Postgres at ${url.hostname}${url.pathname}`);
  const pool = openPool({ connectionString: databaseUrl, max: 1 });
  try {
    return await applyMigrations(postgresMigrationExecutor(pool), defaultMigrationsDir);
  } finally {
    await pool.end();
  }
}

async function migrateLocalDatabase(servicesUrl: string, dataDir: string): Promise<string[]> {
  let response: Response;
  try {
    response = await fetch(new URL("/migrate", servicesUrl), { method: "POST" });
  } catch (error) {
    if (!isConnectionRefused(error)) throw error;
    return migrateEmbeddedDatabase(dataDir);
  }
  console.log(`Migrating through the local services at ${servicesUrl}`);
  if (!response.ok) throw new Error(await response.text());
  const body: unknown = await response.json();
  if (!isAppliedList(body)) throw new Error(`Unexpected answer from ${servicesUrl}/migrate: ${JSON.stringify(body)}`);
  return body.applied;
}

async function migrateEmbeddedDatabase(dataDir: string): Promise<string[]> {
  console.log(`Local services not running; migrating the embedded database in ${dataDir}`);
  const db = await openPglite(dataDir);
  try {
    return await applyMigrations(pgliteMigrationExecutor(db), defaultMigrationsDir);
  } finally {
    await db.close();
  }
}

function isConnectionRefused(error: unknown): boolean {
  return error instanceof TypeError && error.cause instanceof Error && "code" in error.cause && error.cause.code === "ECONNREFUSED";
}

function isAppliedList(body: unknown): body is { applied: string[] } {
  return (
    typeof body === "object" &&
    body !== null &&
    "applied" in body &&
    Array.isArray(body.applied) &&
    body.applied.every((name) => typeof name === "string")
  );
}
