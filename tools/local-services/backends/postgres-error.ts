/** The fields of a Postgres ErrorResponse as node-postgres and PGlite both expose them. */
interface DatabaseErrorFields {
  message: string;
  severity?: string | undefined;
  code?: string | undefined;
  detail?: string | undefined;
  hint?: string | undefined;
  position?: string | undefined;
  internalPosition?: string | undefined;
  internalQuery?: string | undefined;
  where?: string | undefined;
  schema?: string | undefined;
  table?: string | undefined;
  column?: string | undefined;
  dataType?: string | undefined;
  constraint?: string | undefined;
  file?: string | undefined;
  line?: string | undefined;
  routine?: string | undefined;
}

/** The JSON body of Neon's HTTP 400 answer to a failed statement: every field, missing ones null. */
export interface PostgresErrorReport {
  message: string;
  code: string | null;
  detail: string | null;
  hint: string | null;
  position: string | null;
  internalPosition: string | null;
  internalQuery: string | null;
  severity: string | null;
  where: string | null;
  table: string | null;
  column: string | null;
  schema: string | null;
  dataType: string | null;
  constraint: string | null;
  file: string | null;
  line: string | null;
  routine: string | null;
}

/** An error Postgres reported for a statement: the client's fault, relayed to it in full. */
export class PostgresError extends Error {
  override name = "PostgresError";
  readonly report: PostgresErrorReport;

  constructor(report: PostgresErrorReport) {
    super(report.message);
    this.report = report;
  }
}

/**
 * Runs work and turns the driver's own database error class into a PostgresError, so the endpoint
 * tells a statement's failure (HTTP 400) from a failure of the service itself.
 */
export async function reportingPostgresErrors<T>(
  databaseErrorClass: abstract new (...args: never[]) => DatabaseErrorFields,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw error instanceof databaseErrorClass ? new PostgresError(reportOf(error)) : error;
  }
}

function reportOf(error: DatabaseErrorFields): PostgresErrorReport {
  return {
    message: error.message,
    code: error.code ?? null,
    detail: error.detail ?? null,
    hint: error.hint ?? null,
    position: error.position ?? null,
    internalPosition: error.internalPosition ?? null,
    internalQuery: error.internalQuery ?? null,
    severity: error.severity ?? null,
    where: error.where ?? null,
    table: error.table ?? null,
    column: error.column ?? null,
    schema: error.schema ?? null,
    dataType: error.dataType ?? null,
    constraint: error.constraint ?? null,
    file: error.file ?? null,
    line: error.line ?? null,
    routine: error.routine ?? null,
  };
}
