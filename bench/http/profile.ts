// `node bench/http/profile.ts`: where the Worker's CPU goes on one endpoint under load. Starts the stack as the
// bench does (wrangler dev without assets, the API's bundle unminified for readable names, local services on
// PGlite or on BENCH_DATABASE_URL), then drives the endpoint with autocannon twice:
// 1. under `perf record` of both workerd processes (wrangler's proxy and the runtime), when perf is installed:
//    the native side (the runtime's C++, V8, the kernel), with no V8 profiler running to skew it;
// 2. under V8's sampling profiler in the API's isolate, through wrangler's inspector.
// workerd runs every isolate on one thread and reports no idle time to V8, so a V8 profile cannot split the
// time between the API and miniflare's workers that emulate KV and the Cache API locally (each isolate's
// profile would cover the whole thread): read the API's own functions and its calls into the runtime
// (KV get, cache match, fetch...), and measure the emulated stores apart (bench/revocation.bench.ts).
// Prints the top symbols and functions; writes the .cpuprofile (open it in Chrome DevTools) and perf.data to --out.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import autocannon from "autocannon";
import { parseFlags, wholeNumberFlag } from "../../tools/command-line.ts";
import { endpointsFor } from "./endpoints.ts";
import { prepare } from "./prepare.ts";
import { stopAll } from "./processes.ts";
import { startStack } from "./stack.ts";

const USAGE = `node bench/http/profile.ts [flags]: CPU profile of one endpoint under load
  --endpoint NAME   the bench's endpoint name (default "GET /users/me")
  --connections N   default 20
  --duration S      seconds of load (default 5)
  --users N         users to prepare (default 60; more than a page)
  --top N           functions per isolate (default 15)
  --out DIR         where to write the profiles (default .local/profiles)
  --no-perf         without perf record
  --minified        the API's bundle minified, as deployed (default: not, for readable names)
  BENCH_DATABASE_URL   a PostgreSQL server (else PGlite in memory)`;

const flags = parseFlags(
  {
    endpoint: { type: "string", default: "GET /users/me" },
    connections: { type: "string", default: "20" },
    duration: { type: "string", default: "5" },
    users: { type: "string", default: "60" },
    top: { type: "string", default: "15" },
    out: { type: "string", default: join(import.meta.dirname, "..", "..", ".local", "profiles") },
    "no-perf": { type: "boolean", default: false },
    minified: { type: "boolean", default: false },
  },
  USAGE,
);
const connections = wholeNumberFlag(flags.connections, "connections", USAGE);
const seconds = wholeNumberFlag(flags.duration, "duration", USAGE);
const top = wholeNumberFlag(flags.top, "top", USAGE);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** A Chrome DevTools Protocol session with one isolate of workerd. */
async function inspect(url: string): Promise<(method: string, params?: object) => Promise<unknown>> {
  // wrangler's inspector proxy wants a local Origin (undici's WebSocket takes headers as an extension)
  const socket = new WebSocket(url, { headers: { Origin: "http://127.0.0.1" } } as unknown as string[]);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", () => reject(new Error(`cannot reach ${url}`)), { once: true });
  });
  let nextId = 1;
  const waiting = new Map<number, (message: { result?: unknown; error?: { message: string } }) => void>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (message.id !== undefined) waiting.get(message.id)?.(message);
  });
  return (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      // an isolate that never started does not answer: give up on it
      const timer = setTimeout(() => reject(new Error(`${method}: no answer from ${url}`)), 10_000);
      waiting.set(id, (message) => {
        clearTimeout(timer);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result);
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
}

/** Self time per function (ms), from the samples. */
function selfTimes(profile: CpuProfile): { total: number; idle: number; rows: { name: string; ms: number }[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // a sample's time is the delta to the next one
  for (let index = 0; index < samples.length; index++) {
    const id = samples[index] ?? 0;
    self.set(id, (self.get(id) ?? 0) + (deltas[index + 1] ?? 0) / 1000);
  }
  const byName = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, ms] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    total += ms;
    if (frame.functionName === "(idle)" || frame.functionName === "(program)") {
      if (frame.functionName === "(idle)") idle += ms;
    }
    const file = frame.url.replace(/^.*\//, "");
    const name = `${frame.functionName || "(anonymous)"}${file ? ` ${file}:${frame.lineNumber + 1}` : ""}`;
    byName.set(name, (byName.get(name) ?? 0) + ms);
  }
  const rows = [...byName].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { total, idle, rows };
}

function perfRecord(pids: number[], file: string): { stop: () => Promise<boolean> } | undefined {
  if (flags["no-perf"]) return undefined;
  try {
    execFileSync("perf", ["--version"], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  const child = spawn("perf", ["record", "-F", "199", "-g", "-o", file, "-p", pids.join(",")], { stdio: "ignore" });
  return {
    stop: async () => {
      child.kill("SIGINT");
      await new Promise((resolve) => child.once("exit", resolve));
      return true;
    },
  };
}

function perfSummary(file: string): string {
  const options = { encoding: "utf8" as const, maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "ignore"] as ("ignore" | "pipe")[] };
  const byDso = execFileSync("perf", ["report", "-i", file, "--no-children", "--sort", "pid,dso", "--stdio", "-q", "-g", "none"], options);
  const bySymbol = execFileSync(
    "perf",
    ["report", "-i", file, "--no-children", "--sort", "dso,symbol", "--stdio", "-q", "-g", "none"],
    options,
  );
  const head = (text: string, lines: number) =>
    text
      .split("\n")
      .filter((line) => /^\s+\d/.test(line))
      .slice(0, lines)
      .map((line) => line.slice(0, 160))
      .join("\n");
  return `by process and object (self):\n${head(byDso, 14)}\n\ntop symbols (self):\n${head(bySymbol, 40)}`;
}

try {
  const stack = await startStack({
    serverUrl: process.env.BENCH_DATABASE_URL,
    sqlLatencyMs: 0,
    withoutAssets: true,
    unminified: !flags.minified,
  });
  try {
    console.log("preparing users…");
    const fixtures = await prepare(stack.api.url, stack.services, wholeNumberFlag(flags.users, "users", USAGE));
    const endpoint = (await endpointsFor(stack, fixtures)).find((candidate) => candidate.name === flags.endpoint);
    if (!endpoint) throw new Error(`no endpoint named ${flags.endpoint}`);
    const drive = (duration: number) =>
      autocannon({
        url: endpoint.target.url,
        connections,
        duration,
        requests: [
          {
            method: endpoint.method,
            setupRequest: (request, context) => ({ ...request, ...endpoint.next(context) }),
            onResponse: (status, body, context) => endpoint.answered?.(status, body, context),
          },
        ],
      });
    endpoint.reset?.();
    await drive(2);
    await delay(1500);

    mkdirSync(flags.out, { recursive: true });
    const slug = flags.endpoint.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "");
    const report = (what: string, result: autocannon.Result) =>
      console.log(
        `\n${flags.endpoint}, ${what}: ${result.requests.total} requests in ${seconds} s (${Math.round(result.requests.total / seconds)} req/s), ${result.non2xx + result.errors} errors, ${connections} connections`,
      );

    // 1. the whole of both workerd processes, natively: no V8 profiler running, so nothing skews it
    const perfFile = join(flags.out, `${slug}.perf.data`);
    const perf = perfRecord(stack.api.workerd, perfFile);
    if (perf) {
      console.log("perf record…");
      endpoint.reset?.();
      const result = await drive(seconds);
      await perf.stop();
      report("under perf record", result);
      console.log(perfSummary(perfFile));
      await delay(1500);
    }

    // 2. the API's JavaScript, sampled by V8 through wrangler's inspector. workerd runs every isolate on one
    // thread and tells V8 of no idle time, so samples taken while another isolate (miniflare's KV, cache)
    // ran land on "(program)" or on whatever this isolate last ran: read the API's own functions, not the total.
    console.log("V8 profile of the API…");
    const send = await inspect(`ws://127.0.0.1:${stack.api.inspectorPort}/ws`);
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: 1000 });
    await send("Profiler.start");
    endpoint.reset?.();
    const result = await drive(seconds);
    const { profile } = (await send("Profiler.stop")) as { profile: CpuProfile };
    report("under the V8 profiler", result);
    writeFileSync(join(flags.out, `${slug}.cpuprofile`), JSON.stringify(profile));
    const times = selfTimes(profile);
    const requests = result.requests.total;
    console.log(
      `API isolate: top ${top} by self time, µs per request (${Math.round(((times.total - times.idle) / requests) * 1000)} µs sampled in all)`,
    );
    for (const row of times.rows.filter((candidate) => candidate.name !== "(idle)").slice(0, top)) {
      console.log(`  ${String(Math.round((row.ms / requests) * 1000)).padStart(6)}  ${row.name}`);
    }
    const byFile = new Map<string, number>();
    for (const row of times.rows) {
      const file = /\s(\S+):\d+$/.exec(row.name)?.[1] ?? row.name.replace(/\s.*$/, "");
      byFile.set(file, (byFile.get(file) ?? 0) + row.ms);
    }
    console.log("by script (µs per request):");
    for (const [file, ms] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`  ${String(Math.round((ms / requests) * 1000)).padStart(6)}  ${file}`);
    console.log(`\nprofiles in ${flags.out}`);
  } finally {
    await stack.stop();
  }
} catch (error) {
  console.error(`profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
