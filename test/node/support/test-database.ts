import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { openPool } from "../../../tools/postgres/pool.ts";
import type { MigrationExecutor } from "../../../tools/migrations/executor.ts";
import { pgliteMigrationExecutor } from "../../../tools/migrations/pglite-executor.ts";
import { postgresMigrationExecutor } from "../../../tools/migrations/postgres-executor.ts";
import { openPglite } from "../../../tools/local-services/backends/pglite-backend.ts";
import { createScratchDatabase } from "../../../tools/local-services/scratch-database.ts";
import type { LocalServicesOptions } from "../../../tools/local-services/server.ts";

/** Set (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run these tests on a real Postgres server. */
const serverUrl = process.env.TEST_DATABASE_URL || undefined;

export const onRealPostgres = serverUrl !== undefined;

/** A fresh database for one test file, reachable both by the local services and by node-postgres. */
export interface TestDatabase {
  /** A node-postgres connection string for this same database. */
  url: string;
  /** What startLocalServices needs to serve this database. */
  servicesOptions: Pick<LocalServicesOptions, "databaseUrl" | "pglite">;
  /** For running the migration runner on this database directly. */
  migrations: MigrationExecutor;
  close(): Promise<void>;
}

/**
 * A new scratch database on TEST_DATABASE_URL's server, or else an in-memory PGlite that this process
 * also serves over the Postgres wire protocol, so node-postgres reads the very database the SQL
 * endpoint writes. (The socket server does not share the endpoint's lock: use the two one at a time.)
 */
export async function openTestDatabase(): Promise<TestDatabase> {
  return serverUrl === undefined ? openPgliteDatabase() : openScratchDatabase(serverUrl);
}

async function openPgliteDatabase(): Promise<TestDatabase> {
  const db = await openPglite("memory://");
  const socketServer = new PGLiteSocketServer({ db, port: 0 });
  await socketServer.start();
  return {
    url: `postgres://postgres@${socketServer.getServerConn()}/postgres`,
    servicesOptions: { pglite: db },
    migrations: pgliteMigrationExecutor(db),
    close: async () => {
      await socketServer.stop();
      await db.close();
    },
  };
}

async function openScratchDatabase(server: string): Promise<TestDatabase> {
  const scratch = await createScratchDatabase(server);
  const pool = openPool({ connectionString: scratch.url });
  return {
    url: scratch.url,
    servicesOptions: { databaseUrl: scratch.url },
    migrations: postgresMigrationExecutor(pool),
    close: async () => {
      await pool.end();
      await scratch.drop();
    },
  };
}
