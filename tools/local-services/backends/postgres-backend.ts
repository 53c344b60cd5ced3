import { DatabaseError, type ClientBase, type Pool } from "pg";
import { openPool } from "../../postgres/pool.ts";
import { postgresMigrationExecutor } from "../../migrations/postgres-executor.ts";
import { inTransaction, withClient } from "../../postgres/pool-clients.ts";
import { reportingPostgresErrors } from "./postgres-error.ts";
import { runInOrder, transactionModes, type SqlBackend, type SqlQuery, type SqlResult } from "./sql-backend.ts";

declare module "pg" {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- a merged declaration repeats the type parameters
  interface QueryConfig<I> {
    /** "extended" forces the extended protocol even without parameters; node-postgres reads it, @types/pg omits it. */
    queryMode?: "extended";
  }
}

const keepText = (value: string) => value;

/** A pool for relaying statements to a real Postgres the way Neon runs them. */
export function createPostgresPool(databaseUrl: string): Pool {
  return openPool({
    connectionString: databaseUrl,
    // Neon sessions run in UTC: timestamptz text must read the same here.
    options: "-c TimeZone=UTC",
    // Values are relayed as Postgres's text, never parsed.
    types: { getTypeParser: () => keepText },
  });
}

/** Serves a real Postgres: requests run side by side on the pool, each batch on a connection of its own. */
export function postgresBackend(pool: Pool): SqlBackend {
  return {
    run: (query, gate) =>
      reportingPostgresErrors(DatabaseError, async () => {
        await gate?.(0);
        return withClient(pool, (client) => runOn(client, query));
      }),
    runBatch: (queries, settings, gate) =>
      reportingPostgresErrors(DatabaseError, () =>
        inTransaction(pool, `begin ${transactionModes(settings)}`, (client) => runInOrder(queries, (query) => runOn(client, query), gate)),
      ),
    migrations: postgresMigrationExecutor(pool),
  };
}

/** One statement on the extended protocol, as Neon runs it: a second statement in the text is an error. */
async function runOn(client: ClientBase, { query, params }: SqlQuery): Promise<SqlResult> {
  const result = await client.query<(string | null)[]>({
    text: query,
    values: params,
    rowMode: "array",
    queryMode: "extended",
  });
  return {
    fields: result.fields.map(({ name, dataTypeID, tableID, columnID, dataTypeSize, dataTypeModifier }) => ({
      name,
      dataTypeID,
      tableID,
      columnID,
      dataTypeSize,
      dataTypeModifier,
    })),
    rows: result.rows,
    command: result.command,
    rowCount: result.rowCount,
  };
}
