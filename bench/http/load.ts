// One endpoint under load: its SQL round trips (a sequential probe, counted by the local services), then
// autocannon for a fixed time, with the workerd CPU it cost.
import autocannon from "autocannon";
import { z } from "zod";
import { setTimeout as delay } from "node:timers/promises";
import type { Services } from "./stack.ts";
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
  /**
   * At most this many connections at once. A login is ~320 ms of CPU on one thread: 20 in flight would
   * queue each for ~6 s, past a run's end, and the run would see none answered.
   */
  maxConnections?: number;
  /** At least this many seconds of load above 4 connections: a login queues for seconds at 20, so 5 s would see few answers. */
  minSeconds?: number;
  /** autocannon's timeout per request (default 10 s). */
  timeoutSeconds?: number;
  /** Run once before the endpoint is first measured (what it needs that would change the others' figures). */
  setup?: () => Promise<void>;
  /** Measured only in a pass of at least this many connections. */
  minConnections?: number;
  /**
   * False for a measurement taken for a goal whose errors are known and explained (login at 20 connections
   * on one workerd thread): its errors are printed in the goals, and do not fail the bench.
   */
  failsBench?: boolean;
}

export interface Measurement {
  endpoint: string;
  connections: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  sql_round_trips: number;
  cpu_ms: number;
}

const PROBE_REQUESTS = 10;

async function sqlRequests(services: Services): Promise<number> {
  const stats = z.object({ requests: z.record(z.string(), z.number()) }).parse(await (await fetch(`${services.url}/stats`)).json());
  return stats.requests["POST /sql"] ?? 0;
}

/**
 * Round trips per request: sequential requests, counting what reaches the SQL endpoint (work left in waitUntil
 * included). An unexpected answer is counted (and the first one printed), not thrown: the other endpoints are
 * still measured, and the bench fails on the errors at its end.
 */
async function probe(endpoint: Endpoint, services: Services): Promise<{ roundTrips: number; failures: number }> {
  endpoint.reset?.();
  const connection = {};
  const before = await sqlRequests(services);
  let failures = 0;
  for (let index = 0; index < PROBE_REQUESTS; index++) {
    const { path, headers, body } = endpoint.next(connection);
    const response = await fetch(`${endpoint.target.url}${path}`, { method: endpoint.method, headers, ...(body ? { body } : {}) });
    const text = await response.text();
    if (response.status !== endpoint.expected) {
      if (failures === 0) console.error(`${endpoint.name}: probe request ${index + 1} answered ${response.status} ${text.slice(0, 300)}`);
      failures += 1;
    }
    endpoint.answered?.(response.status, text, connection);
  }
  // let work left after the answers (mail marked sent) reach the database
  await delay(300);
  return { roundTrips: Math.round((((await sqlRequests(services)) - before) / PROBE_REQUESTS) * 100) / 100, failures };
}

/** Requests cut off when a run ends still finish on the server: wait for them before counting anything. */
const SETTLE_MS = 1500;

/** Load on one endpoint; it stops after `seconds`, or when `stop` is called. */
function load(endpoint: Endpoint, connections: number, seconds: number): { result: Promise<autocannon.Result>; stop: () => void } {
  const timeout = endpoint.timeoutSeconds === undefined ? {} : { timeout: endpoint.timeoutSeconds };
  endpoint.reset?.();
  let instance: autocannon.Instance | undefined;
  const result = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: endpoint.target.url,
        connections,
        duration: seconds,
        ...timeout,
        requests: [
          {
            method: endpoint.method,
            setupRequest: (request, context) => ({ ...request, ...endpoint.next(context) }),
            onResponse: (status, body, context) => endpoint.answered?.(status, body, context),
          },
        ],
      },
      (error: unknown, done) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(done)),
    );
  });
  return { result, stop: () => instance?.stop() };
}

/** What clients saw of a run of load. */
export type Load = Omit<Measurement, "sql_round_trips" | "cpu_ms" | "connections">;

// long enough for any work the bench waits on; the run is stopped when the work is done
const UNTIL_STOPPED_SECONDS = 3600;

function summary(endpoint: Endpoint, result: autocannon.Result): Load {
  return {
    endpoint: endpoint.name,
    rps: Math.round((result.requests.total / result.duration) * 10) / 10,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/** Load on each endpoint at once for as long as `work` takes: how clients fare while it runs. */
export async function loadWhile<T>(
  endpoints: Endpoint[],
  connections: number,
  work: () => Promise<T>,
): Promise<{ outcome: T; load: Load[] }> {
  const runs = endpoints.map((endpoint) => ({ endpoint, ...load(endpoint, connections, UNTIL_STOPPED_SECONDS) }));
  let outcome: T;
  try {
    outcome = await work();
  } finally {
    for (const run of runs) run.stop();
  }
  return { outcome, load: await Promise.all(runs.map(async (run) => summary(run.endpoint, await run.result))) };
}

export async function measure(
  endpoint: Endpoint,
  services: Services,
  options: { connections: number; seconds: number },
): Promise<Measurement> {
  await endpoint.setup?.();
  await delay(SETTLE_MS);
  const probed = endpoint.usesDatabase ? await probe(endpoint, services) : { roundTrips: 0, failures: 0 };
  const connections = Math.min(options.connections, endpoint.maxConnections ?? options.connections);
  await load(endpoint, connections, 1).result;
  await delay(SETTLE_MS);
  const cpuBefore = cpuMs(endpoint.target.workerd);
  // a longer run only where answers queue (a few connections see answers within the usual seconds)
  const seconds = connections > 4 ? Math.max(options.seconds, endpoint.minSeconds ?? 0) : options.seconds;
  const result = await load(endpoint, connections, seconds).result;
  const cpuAfter = cpuMs(endpoint.target.workerd);
  const requests = result.requests.total;
  const seen = summary(endpoint, result);
  return {
    ...seen,
    errors: seen.errors + probed.failures,
    connections,
    sql_round_trips: probed.roundTrips,
    cpu_ms: requests > 0 ? Math.round(((cpuAfter - cpuBefore) / requests) * 100) / 100 : 0,
  };
}
