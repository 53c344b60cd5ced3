import { emptyReply, jsonReply, textReply, type Handler } from "./http-reply.ts";
import { connectionUser, neonResult, parseSqlRequest } from "./neon-protocol.ts";
import { readJsonBody } from "./request-body.ts";
import { PostgresError } from "./backends/postgres-error.ts";
import type { SqlBackend } from "./backends/sql-backend.ts";
import { hold, type SqlFaults, withFailingQuery } from "./sql-faults.ts";
import type { SqlGates } from "./sql-gates.ts";
import type { Stats } from "./stats.ts";

/**
 * POST /sql. A statement Postgres refuses is answered as Neon answers it: HTTP 400 with the error's
 * fields as JSON, which the driver turns into a NeonDbError. A malformed request is an HttpError
 * (plain text, never 400, so the driver reports "Server error (HTTP status N): ..."). An armed fault
 * (POST /sql/faults) changes the answer first.
 */
export function sqlEndpoint(backend: SqlBackend, stats: Stats, faults: SqlFaults, gates: SqlGates, latencyMs = 0): Handler {
  const answer = sqlAnswer(backend, stats, faults, gates);
  if (latencyMs <= 0) return answer;
  // the trip from an edge location to the database's region, there and back, on every answer
  return async (request, url) => {
    const reply = await answer(request, url);
    await hold(latencyMs);
    return reply;
  };
}

function sqlAnswer(backend: SqlBackend, stats: Stats, faults: SqlFaults, gates: SqlGates): Handler {
  return async (request) => {
    const user = connectionUser(request);
    stats.countSqlUser(user);
    const body = await readJsonBody(request);
    const fault = faults.effectFor(user);
    if (fault.kind === "status") return textReply(fault.status, "Fault injected by the local services");
    if (fault.kind === "drop") return { ...emptyReply(), drop: true };
    if (fault.kind === "hold") await hold(fault.ms);
    const sql = parseSqlRequest(request, body);
    const gate = gates.hookFor(user);
    try {
      if (sql.kind === "single") {
        const [query] = fault.kind === "fail-query" ? withFailingQuery([sql.query], 0) : [sql.query];
        return jsonReply(200, neonResult(await backend.run(query ?? sql.query, gate), sql.arrayMode));
      }
      const queries = fault.kind === "fail-query" ? withFailingQuery(sql.queries, fault.queryIndex) : sql.queries;
      const results = await backend.runBatch(queries, sql.settings, gate);
      return jsonReply(200, { results: results.map((result) => neonResult(result, sql.arrayMode)) });
    } catch (error) {
      if (error instanceof PostgresError) return jsonReply(400, error.report);
      throw error;
    }
  };
}

/** POST /sql/gates arms a gate (see sql-gates.ts); /sql/gates/reached waits for it to hold a request; /sql/gates/release lets it go. */
export function sqlGatesEndpoints(gates: SqlGates): { arm: Handler; reached: Handler; release: Handler } {
  return {
    arm: async (request) => {
      gates.arm(await readJsonBody(request));
      return emptyReply();
    },
    reached: async (request) => jsonReply(200, { held: await gates.reached(await readJsonBody(request)) }),
    release: async (request) => {
      gates.release(await readJsonBody(request));
      return emptyReply();
    },
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
