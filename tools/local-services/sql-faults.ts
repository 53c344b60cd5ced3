// The SQL endpoint's fault switch: what a test arms to see the API meet an unreachable, slow or failing
// database. Tooling only: the Worker never knows, it just sees the endpoint misbehave as Neon's could.
import { setTimeout as delay } from "node:timers/promises";
import type { SqlQuery } from "./backends/sql-backend.ts";
import { HttpError } from "./http-reply.ts";
import { isRecord } from "./request-body.ts";

export type FaultMode = "status" | "hang" | "drop" | "fail-query";

export interface Fault {
  mode: FaultMode;
  /** How many of the requests it applies to pass untouched first (to cut off a sequence midway). */
  skip: number;
  /** How many requests it hits before it disarms itself. */
  remaining: number;
  /** Only requests of this database user (in Neon-Connection-String), so parallel tests do not meet it. */
  user: string | undefined;
  /** For `status`: the HTTP status answered (5xx). */
  status: number;
  /** For `hang`: how long a request is held before it is answered normally. */
  holdMs: number;
  /** For `fail-query`: which statement of a batch fails (0-based); a single statement always does. */
  queryIndex: number;
}

/** What the endpoint must do with one request under the armed fault. */
export type FaultEffect =
  | { kind: "none" }
  | { kind: "status"; status: number }
  | { kind: "hold"; ms: number }
  | { kind: "drop" }
  | { kind: "fail-query"; queryIndex: number };

// Postgres's own serialization failure (40001), as a busy server raises it: a transient error, which
// rolls a batch back whole.
const FAILING_STATEMENT = "do $$ begin raise exception 'fault injected by the local services' using errcode = '40001'; end $$";

export interface SqlFaults {
  arm(body: unknown): Fault;
  clear(): void;
  /** Takes the effect for a request of `user`, counting it against the fault. */
  effectFor(user: string): FaultEffect;
}

export function createSqlFaults(): SqlFaults {
  let fault: Fault | undefined;
  return {
    arm(body) {
      fault = parseFault(body);
      return fault;
    },
    clear() {
      fault = undefined;
    },
    effectFor(user) {
      if (!fault || fault.remaining <= 0 || (fault.user !== undefined && fault.user !== user)) return { kind: "none" };
      if (fault.skip > 0) {
        fault.skip -= 1;
        return { kind: "none" };
      }
      fault.remaining -= 1;
      switch (fault.mode) {
        case "status":
          return { kind: "status", status: fault.status };
        case "hang":
          return { kind: "hold", ms: fault.holdMs };
        case "drop":
          return { kind: "drop" };
        case "fail-query":
          return { kind: "fail-query", queryIndex: fault.queryIndex };
      }
    },
  };
}

/** The statements with the one the fault names replaced by one that fails. */
export function withFailingQuery(queries: SqlQuery[], queryIndex: number): SqlQuery[] {
  return queries.map((query, index) =>
    index === Math.min(queryIndex, queries.length - 1) ? { query: FAILING_STATEMENT, params: [] } : query,
  );
}

export function hold(ms: number): Promise<void> {
  return delay(ms);
}

const MODES: FaultMode[] = ["status", "hang", "drop", "fail-query"];

function parseFault(body: unknown): Fault {
  if (!isRecord(body) || typeof body.mode !== "string" || !MODES.some((mode) => mode === body.mode)) {
    throw new HttpError(422, `Body must be {"mode": ${MODES.map((mode) => `"${mode}"`).join(" | ")}, ...}`);
  }
  const mode = MODES.find((candidate) => candidate === body.mode) ?? "status";
  const number = (key: string, fallback: number) => {
    const value = body[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new HttpError(422, `"${key}" must be a whole number`);
    return value;
  };
  const user = body.user;
  if (user !== undefined && typeof user !== "string") throw new HttpError(422, '"user" must be a string');
  const status = number("status", 503);
  if (status < 500 || status > 599) throw new HttpError(422, '"status" must be a 5xx status');
  return {
    mode,
    skip: number("skip", 0),
    remaining: number("count", 1),
    user,
    status,
    holdMs: number("ms", 30_000),
    queryIndex: number("query", 0),
  };
}
