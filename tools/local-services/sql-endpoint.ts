import { jsonReply, type Handler } from "./http-reply.ts";
import { connectionUser, neonResult, parseSqlRequest } from "./neon-protocol.ts";
import { readJsonBody } from "./request-body.ts";
import { PostgresError } from "./backends/postgres-error.ts";
import type { SqlBackend } from "./backends/sql-backend.ts";
import type { Stats } from "./stats.ts";

/**
 * POST /sql. A statement Postgres refuses is answered as Neon answers it: HTTP 400 with the error's
 * fields as JSON, which the driver turns into a NeonDbError. A malformed request is an HttpError
 * (plain text, never 400, so the driver reports "Server error (HTTP status N): ...").
 */
export function sqlEndpoint(backend: SqlBackend, stats: Stats): Handler {
  return async (request) => {
    stats.countSqlUser(connectionUser(request));
    const sql = parseSqlRequest(request, await readJsonBody(request));
    try {
      if (sql.kind === "single") return jsonReply(200, neonResult(await backend.run(sql.query), sql.arrayMode));
      const results = await backend.runBatch(sql.queries, sql.settings);
      return jsonReply(200, { results: results.map((result) => neonResult(result, sql.arrayMode)) });
    } catch (error) {
      if (error instanceof PostgresError) return jsonReply(400, error.report);
      throw error;
    }
  };
}
