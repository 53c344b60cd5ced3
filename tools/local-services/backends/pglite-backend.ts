import { mkdir } from "node:fs/promises";
import { messages, Mutex, PGlite, type QueryOptions, type Results } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { pgliteMigrationExecutor } from "../../migrations/pglite-executor.ts";
import { reportingPostgresErrors } from "./postgres-error.ts";
import { runInOrder, transactionModes, type SqlBackend, type SqlQuery, type SqlResult } from "./sql-backend.ts";

/** The extensions the migrations create, which PGlite must have loaded to let them (Neon and PostgreSQL ship them). */
const EXTENSIONS = { pg_trgm };

/** Opens (creating if needed) the PGlite database in dataDir; "memory://" keeps it in memory only. */
export async function openPglite(dataDir: string): Promise<PGlite> {
  if (!dataDir.startsWith("memory://")) await mkdir(dataDir, { recursive: true });
  return PGlite.create(dataDir, { extensions: EXTENSIONS });
}

/**
 * Serves a PGlite database. PGlite has a single session, so everything here takes turns on one lock:
 * a batch's transaction never has another request's statement inside it, and a request never finds
 * the session inside someone else's transaction.
 */
export async function pgliteBackend(db: PGlite): Promise<SqlBackend> {
  const options = await rawTextOptions(db);
  const turn = new Mutex();
  const migrations = pgliteMigrationExecutor(db);

  async function runOn(target: Pick<PGlite, "query">, { query, params }: SqlQuery): Promise<SqlResult> {
    return resultOf(await target.query<(string | null)[]>(query, params, options));
  }

  // Each request in its turn. A lone BEGIN (or a batch ending in one) would leave the only session
  // inside a transaction for every later request; Neon discards such a connection, so end it likewise.
  function inTurn<T>(work: () => Promise<T>): Promise<T> {
    return turn.runExclusive(() =>
      reportingPostgresErrors(messages.DatabaseError, async () => {
        try {
          return await work();
        } finally {
          if (db.isInTransaction()) await db.exec("rollback");
        }
      }),
    );
  }

  return {
    // A gate before a request holds it before its turn; one inside a batch holds the one connection, and
    // with it every other request: interleavings inside transactions need the PostgreSQL server.
    run: async (query, gate) => {
      await gate?.(0);
      return inTurn(() => runOn(db, query));
    },
    runBatch: async (queries, settings, gate) => {
      await gate?.(0);
      return inTurn(() =>
        db.transaction(async (tx) => {
          const modes = transactionModes(settings);
          if (modes !== "") await tx.exec(`set transaction ${modes}`);
          return runInOrder(queries, (query) => runOn(tx, query), gate && ((index) => (index > 0 ? gate(index) : Promise.resolve())));
        }),
      );
    },
    migrations: { inTransaction: (work) => turn.runExclusive(() => migrations.inTransaction(work)) },
  };
}

/**
 * Query options that keep Postgres's text. PGlite parses values into JavaScript types by default, so
 * every type known at start-up gets an identity parser (types created later have no parser, and PGlite
 * leaves those as text anyway); identity serializers pass the driver's text parameters through
 * untouched (PGlite's own would reject "\x..." text for a bytea, or re-encode JSON).
 */
async function rawTextOptions(db: PGlite): Promise<QueryOptions> {
  const { rows } = await db.query<{ oid: number }>("select oid::int4 as oid from pg_type");
  const keepText = (value: string) => value;
  const identity = Object.fromEntries(rows.map(({ oid }) => [oid, keepText]));
  return { rowMode: "array", parsers: identity, serializers: identity };
}

/** PGlite reports only a field's name and type; the rest is unknown here (the driver reads only those two). */
function resultOf({ fields, rows, command, rowCount }: Results<(string | null)[]>): SqlResult {
  return {
    fields: fields.map(({ name, dataTypeID }) => ({
      name,
      dataTypeID,
      tableID: 0,
      columnID: 0,
      dataTypeSize: -1,
      dataTypeModifier: -1,
    })),
    rows,
    command: command ?? null,
    rowCount: rowCount ?? null,
  };
}
