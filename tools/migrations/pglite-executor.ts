import type { PGliteInterface } from "@electric-sql/pglite";
import type { MigrationExecutor } from "./executor.ts";

/** Migrations on an in-process PGlite; its transactions already exclude its other queries. */
export function pgliteMigrationExecutor(db: PGliteInterface): MigrationExecutor {
  return {
    inTransaction: (work) =>
      db.transaction((tx) =>
        work({
          runScript: async (script) => {
            await tx.exec(script);
          },
          query: async (statement, params = []) => (await tx.query<Record<string, unknown>>(statement, params)).rows,
        }),
      ),
  };
}
