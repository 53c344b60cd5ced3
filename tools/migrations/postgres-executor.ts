import type { Pool } from "pg";
import { inTransaction } from "../postgres/pool-clients.ts";
import type { MigrationExecutor } from "./executor.ts";

// READ COMMITTED whatever the server's default: a runner that waited for the migrations lock must see
// what the runner before it committed meanwhile.
const BEGIN = "begin isolation level read committed";

/** Migrations on any Postgres reachable over TCP, Neon included (with `sslmode=require`). */
export function postgresMigrationExecutor(pool: Pool): MigrationExecutor {
  return {
    inTransaction: (work) =>
      inTransaction(pool, BEGIN, (client) =>
        work({
          runScript: async (script) => {
            await client.query(script);
          },
          query: async (statement, params = []) => (await client.query<Record<string, unknown>>(statement, params)).rows,
        }),
      ),
  };
}
