// `npm run bench` (after the in-workerd hashing figures): the API over HTTP under load, as clients feel
// it. Starts the stack (local services on PGlite in memory, or on the server BENCH_DATABASE_URL names;
// `wrangler dev` for the API and for a bare floor Worker), prepares users and tokens through the API,
// and drives each endpoint with autocannon: req/s, p50/p99, errors, SQL round trips, workerd CPU per
// request. Two passes: throughput (no added latency, 20 connections) and latency (25 ms per SQL answer,
// as from an edge location to the database's region, 1 connection). Writes bench/results.json and
// bench/results-latency.json.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseFlags, wholeNumberFlag } from "../../tools/command-line.ts";
import { endpointsFor } from "./endpoints.ts";
import { type Measurement, measure } from "./load.ts";
import { prepare } from "./prepare.ts";
import { stopAll } from "./processes.ts";
import { startStack } from "./stack.ts";

const USAGE = `npm run bench -- [flags]: the API over HTTP under load
  --sql-latency-ms N   one pass with this latency on every SQL answer (default: two passes, 0 ms and 25 ms)
  --connections N      concurrent connections of that pass (default 20 without latency, 1 with)
  --duration S         seconds of load per endpoint (default 5)
  --only NAME          only the endpoints whose name contains NAME (the floor always runs)
  --users N            verified users to prepare (default 100)
  --without-assets     both Workers without static assets: no local asset router in front (to compare
                       with a Worker that has none, such as the Better Auth peer)
  BENCH_DATABASE_URL   run the local services on a scratch database of this PostgreSQL server`;

const flags = parseFlags(
  {
    "sql-latency-ms": { type: "string" },
    connections: { type: "string" },
    duration: { type: "string", default: "5" },
    only: { type: "string" },
    users: { type: "string", default: "100" },
    "without-assets": { type: "boolean", default: false },
  },
  USAGE,
);

interface Pass {
  name: string;
  sqlLatencyMs: number;
  connections: number;
  file: string;
}

const latency = flags["sql-latency-ms"] === undefined ? undefined : wholeNumberFlag(flags["sql-latency-ms"], "sql-latency-ms", USAGE, 0);
const connections = flags.connections === undefined ? undefined : wholeNumberFlag(flags.connections, "connections", USAGE);
const seconds = wholeNumberFlag(flags.duration, "duration", USAGE);
const users = wholeNumberFlag(flags.users, "users", USAGE);
const passes: Pass[] =
  latency === undefined
    ? [
        { name: "throughput", sqlLatencyMs: 0, connections: connections ?? 20, file: "results.json" },
        { name: "latency", sqlLatencyMs: 25, connections: connections ?? 1, file: "results-latency.json" },
      ]
    : [
        {
          name: latency > 0 ? "latency" : "throughput",
          sqlLatencyMs: latency,
          connections: connections ?? (latency > 0 ? 1 : 20),
          file: latency > 0 ? "results-latency.json" : "results.json",
        },
      ];

interface Row extends Measurement {
  ratio_to_floor: number;
}

function print(pass: Pass, database: string, rows: Row[]): void {
  const health = rows.find((row) => row.endpoint === "GET /health")?.rps;
  console.log(
    `\n${pass.name}: ${pass.connections} connection(s), ${seconds} s per endpoint, ${pass.sqlLatencyMs} ms added to each SQL answer, database ${database}${flags["without-assets"] ? ", without static assets" : ""}`,
  );
  console.table(
    rows.map((row) => ({
      endpoint: row.endpoint,
      conns: row.connections,
      "req/s": row.rps,
      "p50 ms": row.p50_ms,
      "p99 ms": row.p99_ms,
      errors: row.errors,
      "SQL trips": row.sql_round_trips,
      "workerd CPU ms/req": row.cpu_ms,
      "× floor": row.ratio_to_floor,
      "× /health": health ? Math.round((row.rps / health) * 100) / 100 : null,
    })),
  );
}

async function run(pass: Pass): Promise<Row[]> {
  const stack = await startStack({
    serverUrl: process.env.BENCH_DATABASE_URL,
    sqlLatencyMs: pass.sqlLatencyMs,
    withoutAssets: flags["without-assets"],
  });
  try {
    const fixtures = await prepare(stack.api.url, stack.services, users);
    const endpoints = await endpointsFor(stack, fixtures);
    const chosen = endpoints.filter((endpoint) => !endpoint.usesDatabase || !flags.only || endpoint.name.includes(flags.only));
    const measured: Measurement[] = [];
    for (const endpoint of chosen) measured.push(await measure(endpoint, stack.services, { connections: pass.connections, seconds }));
    const floor = measured.find((row) => row.endpoint === "floor Worker")?.rps ?? 0;
    const rows = measured.map((row) => ({ ...row, ratio_to_floor: floor > 0 ? Math.round((row.rps / floor) * 100) / 100 : 0 }));
    print(pass, stack.database, rows);
    return rows;
  } finally {
    await stack.stop();
  }
}

try {
  let errors = 0;
  for (const pass of passes) {
    const rows = await run(pass);
    writeFileSync(join(import.meta.dirname, "..", pass.file), `${JSON.stringify(rows, null, 2)}\n`);
    errors += rows.reduce((sum, row) => sum + row.errors, 0);
  }
  console.log("\nSQL trips: SQL requests per request (a sequential probe; mail marked sent after the answer included).");
  console.log("workerd CPU: user + system time of the Worker's workerd processes, per request (wrangler dev's proxy included).");
  if (errors > 0) {
    console.error(`${errors} requests failed under load`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
