import { emptyReply, jsonReply, textReply, type Handler } from "./http-reply.ts";
import { connectionUser, neonResult, parseSqlRequest } from "./neon-protocol.ts";
import { readJsonBody } from "./request-body.ts";
import { PostgresError } from "./backends/postgres-error.ts";
import type { SqlBackend } from "./backends/sql-backend.ts";
import { hold, type SqlFaults, withFailingQuery } from "./sql-faults.ts";
import type { Stats } from "./stats.ts";

/**
 * POST /sql. A statement Postgres refuses is answered as Neon answers it: HTTP 400 with the error's
 * fields as JSON, which the driver turns into a NeonDbError. A malformed request is an HttpError
 * (plain text, never 400, so the driver reports "Server error (HTTP status N): ..."). An armed fault
 * (POST /sql/faults) changes the answer first.
 */
export function sqlEndpoint(backend: SqlBackend, stats: Stats, faults: SqlFaults, latencyMs = 0): Handler {
  const answer = sqlAnswer(backend, stats, faults);
  if (latencyMs <= 0) return answer;
  // the trip from an edge location to the database's region, there and back, on every answer
  return async (request, url) => {
    const reply = await answer(request, url);
    await hold(latencyMs);
    return reply;
  };
}

function sqlAnswer(backend: SqlBackend, stats: Stats, faults: SqlFaults): Handler {
  return async (request) => {
    const user = connectionUser(request);
    stats.countSqlUser(user);
    const body = await readJsonBody(request);
    const fault = faults.effectFor(user);
    if (fault.kind === "status") return textReply(fault.status, "Fault injected by the local services");
    if (fault.kind === "drop") return { ...emptyReply(), drop: true };
    if (fault.kind === "hold") await hold(fault.ms);
    const sql = parseSqlRequest(request, body);
    try {
      if (sql.kind === "single") {
        const [query] = fault.kind === "fail-query" ? withFailingQuery([sql.query], 0) : [sql.query];
        return jsonReply(200, neonResult(await backend.run(query ?? sql.query), sql.arrayMode));
      }
      const queries = fault.kind === "fail-query" ? withFailingQuery(sql.queries, fault.queryIndex) : sql.queries;
      const results = await backend.runBatch(queries, sql.settings);
      return jsonReply(200, { results: results.map((result) => neonResult(result, sql.arrayMode)) });
    } catch (error) {
      if (error instanceof PostgresError) return jsonReply(400, error.report);
      throw error;
    }
  };
}

/** POST /sql/faults arms a fault (see sql-faults.ts); DELETE /sql/faults clears it. */
export function sqlFaultsEndpoints(faults: SqlFaults): { arm: Handler; clear: Handler } {
  return {
    arm: async (request) => jsonReply(200, faults.arm(await readJsonBody(request))),
    clear: async () => {
      faults.clear();
      return emptyReply();
    },
  };
}
