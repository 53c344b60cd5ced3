// One endpoint under load: its SQL round trips (a sequential probe, counted by the local services), then
// autocannon for a fixed time, with the workerd CPU it cost.
import autocannon from "autocannon";
import { z } from "zod";
import { setTimeout as delay } from "node:timers/promises";
import type { LocalServices } from "../../tools/local-services/server.ts";
import { cpuMs } from "./processes.ts";

/** What one request is: `next` builds it from its connection's state. */
export interface Request {
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** One kind of request, as autocannon sends it. */
export interface Endpoint {
  name: string;
  method: "GET" | "POST" | "PATCH";
  /** The Worker that serves it, and its workerd processes. */
  target: { url: string; workerd: number[] };
  /** False for the floor, which has no database. */
  usesDatabase: boolean;
  /** `connection` identifies the connection (autocannon's context for it); the bench keeps its own state by it. */
  next: (connection: object) => Request;
  /** Called with each answer's body, to carry state (a refresh chain) to the connection's next request. */
  answered?: (status: number, body: string, connection: object) => void;
  /** Called before each run of requests (probe, warm-up, measurement): connections of a run are new. */
  reset?: () => void;
  expected: number;
}

export interface Measurement {
  endpoint: string;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  sql_round_trips: number;
  cpu_ms: number;
}

const PROBE_REQUESTS = 10;

async function sqlRequests(services: LocalServices): Promise<number> {
  const stats = z.object({ requests: z.record(z.string(), z.number()) }).parse(await (await fetch(`${services.url}/stats`)).json());
  return stats.requests["POST /sql"] ?? 0;
}

/** Round trips per request: sequential requests, counting what reaches the SQL endpoint (work left in waitUntil included). */
async function probe(endpoint: Endpoint, services: LocalServices): Promise<number> {
  endpoint.reset?.();
  const connection = {};
  const before = await sqlRequests(services);
  for (let index = 0; index < PROBE_REQUESTS; index++) {
    const { path, headers, body } = endpoint.next(connection);
    const response = await fetch(`${endpoint.target.url}${path}`, { method: endpoint.method, headers, ...(body ? { body } : {}) });
    const text = await response.text();
    if (response.status !== endpoint.expected) throw new Error(`${endpoint.name}: ${response.status} ${text}`);
    endpoint.answered?.(response.status, text, connection);
  }
  // let work left after the answers (mail marked sent) reach the database
  await delay(300);
  return Math.round(((await sqlRequests(services)) - before) / PROBE_REQUESTS * 100) / 100;
}

/** Requests cut off when a run ends still finish on the server: wait for them before counting anything. */
const SETTLE_MS = 1500;

function load(endpoint: Endpoint, connections: number, seconds: number): Promise<autocannon.Result> {
  endpoint.reset?.();
  return autocannon({
    url: endpoint.target.url,
    connections,
    duration: seconds,
    requests: [
      {
        method: endpoint.method,
        setupRequest: (request, context) => ({ ...request, ...endpoint.next(context) }),
        onResponse: (status, body, context) => endpoint.answered?.(status, body, context),
      },
    ],
  });
}

export async function measure(endpoint: Endpoint, services: LocalServices, options: { connections: number; seconds: number }): Promise<Measurement> {
  await delay(SETTLE_MS);
  const sqlRoundTrips = endpoint.usesDatabase ? await probe(endpoint, services) : 0;
  await load(endpoint, options.connections, 1);
  await delay(SETTLE_MS);
  const cpuBefore = cpuMs(endpoint.target.workerd);
  const result = await load(endpoint, options.connections, options.seconds);
  const cpuAfter = cpuMs(endpoint.target.workerd);
  const requests = result.requests.total;
  return {
    endpoint: endpoint.name,
    rps: Math.round((requests / result.duration) * 10) / 10,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    sql_round_trips: sqlRoundTrips,
    cpu_ms: requests > 0 ? Math.round(((cpuAfter - cpuBefore) / requests) * 100) / 100 : 0,
  };
}
