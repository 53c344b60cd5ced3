// Neon's SQL-over-HTTP protocol as `@neondatabase/serverless` 1.2 speaks it (Neon's proxy:
// proxy/src/serverless/sql_over_http.rs). Requests name the database in a header, carry one statement
// or a batch as JSON, and get back Postgres's text output with type OIDs, for the driver to parse.
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-reply.ts";
import { headerValue, isRecord } from "./request-body.ts";
import { isIsolationLevel, type BatchSettings, type ResultField, type SqlQuery, type SqlResult } from "./backends/sql-backend.ts";

export type SqlRequest =
  | { kind: "single"; query: SqlQuery; arrayMode: boolean }
  | { kind: "batch"; queries: SqlQuery[]; settings: BatchSettings; arrayMode: boolean };

export interface NeonResult {
  fields: (ResultField & { format: "text" })[];
  rows: (string | null)[][] | Record<string, string | null>[];
  command: string | null;
  rowCount: number | null;
  rowAsArray: boolean;
}

/**
 * The user name in the request's Neon-Connection-String. The service has one database and checks no
 * password, so the rest of the string (database name, the driver's ?application_name=...) is ignored.
 */
export function connectionUser(request: IncomingMessage): string {
  const connectionString = headerValue(request, "Neon-Connection-String");
  if (connectionString === undefined) throw new HttpError(422, "Missing Neon-Connection-String header");
  const url = URL.parse(connectionString);
  if (url === null || (url.protocol !== "postgres:" && url.protocol !== "postgresql:")) {
    throw new HttpError(422, "Neon-Connection-String is not a postgres:// URL");
  }
  return decodeURIComponent(url.username);
}

/**
 * The statement(s) to run. Values always come back as text: the driver always asks for it
 * (Neon-Raw-Text-Output), so that header needs no reading.
 */
export function parseSqlRequest(request: IncomingMessage, body: unknown): SqlRequest {
  // Neon turns a header on only when it is exactly "true".
  const flag = (name: string) => headerValue(request, name) === "true";
  const arrayMode = flag("Neon-Array-Mode");
  if (!isRecord(body)) throw new HttpError(422, 'Body must be a JSON object with "query" or "queries"');
  if (body.queries !== undefined) {
    if (!Array.isArray(body.queries)) throw new HttpError(422, '"queries" must be an array');
    const settings = {
      isolationLevel: isolationLevel(headerValue(request, "Neon-Batch-Isolation-Level")),
      readOnly: flag("Neon-Batch-Read-Only"),
      deferrable: flag("Neon-Batch-Deferrable"),
    };
    return { kind: "batch", queries: body.queries.map(sqlQuery), settings, arrayMode };
  }
  return { kind: "single", query: sqlQuery(body), arrayMode };
}

export function neonResult({ fields, rows, command, rowCount }: SqlResult, arrayMode: boolean): NeonResult {
  return {
    fields: fields.map((field) => ({ ...field, format: "text" })),
    rows: arrayMode ? rows : rows.map((row) => Object.fromEntries(fields.map((field, index) => [field.name, row[index] ?? null]))),
    command,
    rowCount,
    rowAsArray: arrayMode,
  };
}

function sqlQuery(value: unknown): SqlQuery {
  if (!isRecord(value) || typeof value.query !== "string") {
    throw new HttpError(422, 'Each statement needs a "query" string');
  }
  const params = value.params ?? [];
  if (!Array.isArray(params) || !params.every(isTextParam)) {
    throw new HttpError(422, '"params" must be an array of strings and nulls');
  }
  return { query: value.query, params };
}

function isTextParam(value: unknown): value is string | null {
  return value === null || typeof value === "string";
}

function isolationLevel(header: string | undefined): BatchSettings["isolationLevel"] {
  if (header === undefined) return null;
  if (!isIsolationLevel(header)) {
    throw new HttpError(422, `Unknown Neon-Batch-Isolation-Level "${header}"`);
  }
  return header;
}
