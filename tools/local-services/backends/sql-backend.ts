import type { MigrationExecutor } from "../../migrations/executor.ts";
import type { GateHook } from "../sql-gates.ts";

/** One statement as Neon's protocol carries it: parameters are text (or NULL) for Postgres to type. */
export interface SqlQuery {
  query: string;
  params: (string | null)[];
}

export interface ResultField {
  name: string;
  dataTypeID: number;
  tableID: number;
  columnID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
}

/** A statement's outcome with every value as Postgres's text output (NULL as null). */
export interface SqlResult {
  fields: ResultField[];
  rows: (string | null)[][];
  /** The command tag's first word ("SELECT", "INSERT", "CREATE"...). */
  command: string | null;
  /** The tag's row count, when it has one. */
  rowCount: number | null;
}

const ISOLATION_LEVELS = {
  ReadUncommitted: "read uncommitted",
  ReadCommitted: "read committed",
  RepeatableRead: "repeatable read",
  Serializable: "serializable",
} as const;

/** The values of Neon's `Neon-Batch-Isolation-Level` header. */
export type IsolationLevel = keyof typeof ISOLATION_LEVELS;

export function isIsolationLevel(value: string): value is IsolationLevel {
  return Object.hasOwn(ISOLATION_LEVELS, value);
}

export interface BatchSettings {
  /** Null leaves the database's default. */
  isolationLevel: IsolationLevel | null;
  readOnly: boolean;
  deferrable: boolean;
}

/** The settings as transaction modes for BEGIN or SET TRANSACTION ("" when all are defaults). */
export function transactionModes({ isolationLevel, readOnly, deferrable }: BatchSettings): string {
  const modes = [
    isolationLevel === null ? "" : `isolation level ${ISOLATION_LEVELS[isolationLevel]}`,
    readOnly ? "read only" : "",
    deferrable ? "deferrable" : "",
  ];
  return modes.filter((mode) => mode !== "").join(", ");
}

/** Where the local SQL endpoint runs statements: PGlite in-process, or a real Postgres. */
export interface SqlBackend {
  /** Runs one statement on its own (autocommit), as Neon runs a single HTTP query. */
  run(query: SqlQuery, gate?: GateHook): Promise<SqlResult>;
  /** Runs the statements in order in one transaction; any failure rolls back all of them. */
  runBatch(queries: SqlQuery[], settings: BatchSettings, gate?: GateHook): Promise<SqlResult[]>;
  /** The same database for the migration runner, taking turns with the statements above. */
  readonly migrations: MigrationExecutor;
}

/**
 * Runs the statements one after the other (a batch's statements must not overlap), stopping at a test's
 * gate before the one it names.
 */
export async function runInOrder<T>(queries: SqlQuery[], run: (query: SqlQuery) => Promise<T>, gate?: GateHook): Promise<T[]> {
  const results: T[] = [];
  for (const [index, query] of queries.entries()) {
    await gate?.(index);
    results.push(await run(query));
  }
  return results;
}
