// The stack a benchmark drives, started as `npm run dev` starts it: the local services (PGlite in
// memory, or a scratch database on a real server), `wrangler dev` for the API, and `wrangler dev` for
// the floor Worker.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { execPath } from "node:process";
import { dirname, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { createScratchDatabase, type ScratchDatabase } from "../../tools/local-services/scratch-database.ts";
import { newSecretSettings } from "../../tools/secrets.ts";
import { type Started, startGroup, workerdProcesses } from "./processes.ts";

const ROOT = join(import.meta.dirname, "..", "..");

/** The local services, in a process of their own (as `npm run dev` runs them), apart from the load. */
export interface Services {
  url: string;
  port: number;
}

export interface Stack {
  services: Services;
  api: Worker;
  floor: Worker;
  /** Where the database is: "PGlite (in memory)" or the server's host. */
  database: string;
  /** The scratch database on the server, for direct access (seeding, plans); none on PGlite. */
  databaseUrl: string | undefined;
  stop(): Promise<void>;
}

export interface Worker {
  url: string;
  /** Its workerd processes, whose CPU time is the Worker's cost. */
  workerd: number[];
  /** wrangler's inspector for the Worker (DevTools protocol at ws://127.0.0.1:PORT/ws). */
  inspectorPort: number;
  /** The JSON log lines it printed (only with `workerLogs`). */
  logLines(): string[];
}

export interface StackOptions {
  /** A real Postgres server: the bench makes a scratch database there and drops it after. */
  serverUrl?: string | undefined;
  sqlLatencyMs: number;
  /**
   * Both Workers without their static assets: wrangler dev then puts no asset router in front of them,
   * which locally costs about 0.5 ms of CPU per request (Cloudflare does that routing before the Worker,
   * unbilled). For comparing with a Worker that has no assets.
   */
  withoutAssets?: boolean;
  /**
   * The API's own log lines (the cron's report) on its output. wrangler dev then prints a line for every
   * request too, which costs its proxy CPU: not for the throughput figures.
   */
  workerLogs?: boolean;
  /** The API's bundle not minified (wrangler.toml minifies it): for readable function names in a profile. */
  unminified?: boolean;
}

/** A copy of a Worker's configuration, beside it (so its paths still resolve), without the [assets] table. */
function withoutAssetsTable(configPath: string, scratchName: string): string {
  const text = readFileSync(configPath, "utf8");
  const copy = join(dirname(configPath), scratchName);
  writeFileSync(copy, text.replace(/^\[assets\]\n(?:[^[\n].*\n)*/m, ""));
  return copy;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

async function startWorker(
  name: string,
  configPath: string,
  state: string,
  logLevel: "warn" | "log",
  envFile?: string,
  extraArgs: string[] = [],
): Promise<{ worker: Worker; process: Started }> {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const args = ["dev", "--config", configPath, "--port", String(port), "--ip", "127.0.0.1", "--persist-to", join(state, name)];
  // two wrangler dev at once would both want the default inspector port
  args.push("--inspector-port", String(inspectorPort));
  args.push("--log-level", logLevel, "--show-interactive-dev-session=false", "--test-scheduled");
  if (envFile) args.push("--env-file", envFile);
  args.push(...extraArgs);
  const process = startGroup("wrangler", args, { cwd: ROOT, env: { WRANGLER_SEND_METRICS: "false" } });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (process.process.exitCode !== null) throw new Error(`wrangler dev (${name}) exited:\n${process.output()}`);
    if (attempt > 240) throw new Error(`wrangler dev (${name}) did not answer within 60 s:\n${process.output()}`);
    const answered = await fetch(`${url}/health/live`).then(
      (response) => response.status,
      () => 0,
    );
    if (answered > 0) break;
    await delay(250);
  }
  const session = process.process.pid ?? 0;
  return { worker: { url, workerd: workerdProcesses(session), inspectorPort, logLines: process.logLines }, process };
}

/** `npm run services` on a free port; answers once it serves. */
async function startServices(databaseUrl: string | undefined, sqlLatencyMs: number): Promise<{ services: Services; process: Started }> {
  const port = await freePort();
  const args = [join(ROOT, "tools", "local-services", "main.ts"), "--port", String(port), "--sql-latency-ms", String(sqlLatencyMs)];
  args.push(...(databaseUrl ? ["--database-url", databaseUrl] : ["--data-dir", "memory://"]));
  const process = startGroup(execPath, args, { cwd: ROOT });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (process.process.exitCode !== null) throw new Error(`the local services exited:\n${process.output()}`);
    if (attempt > 120) throw new Error(`the local services did not answer within 30 s:\n${process.output()}`);
    const answered = await fetch(`${url}/stats`).then(
      (response) => response.ok,
      () => false,
    );
    if (answered) return { services: { url, port }, process };
    await delay(250);
  }
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const state = mkdtempSync(join(tmpdir(), "coffee-bench-"));
  const scratch: ScratchDatabase | undefined = options.serverUrl ? await createScratchDatabase(options.serverUrl) : undefined;
  const databaseUrl = scratch?.url;
  const started: Started[] = [];
  const scratchName = `.bench-${crypto.randomUUID().slice(0, 8)}.toml`;
  const configs = [join(ROOT, "wrangler.toml"), join(ROOT, "bench", "floor", "wrangler.toml")].map((path) =>
    options.withoutAssets ? withoutAssetsTable(path, scratchName) : path,
  );
  const stop = async () => {
    await Promise.all(started.map((process) => process.stop()));
    await scratch?.drop();
    rmSync(state, { recursive: true, force: true });
    if (options.withoutAssets) for (const config of configs) rmSync(config, { force: true });
  };
  try {
    const { services, process: servicesProcess } = await startServices(databaseUrl, options.sqlLatencyMs);
    started.push(servicesProcess);
    const envFile = join(state, "api.env");
    const secrets = newSecretSettings();
    writeFileSync(
      envFile,
      [
        `DATABASE_URL=postgres://bench:bench@127.0.0.1:${services.port}/coffee`,
        `JWT_PRIVATE_KEYS='${secrets.JWT_PRIVATE_KEYS}'`,
        `HASH_SECRET=${secrets.HASH_SECRET}`,
        "RESEND_API_KEY=re_bench",
        `RESEND_BASE_URL=${services.url}`,
        `PWNED_PASSWORDS_RANGE_URL=${services.url}/range`,
        "MAIL_FROM=Coffee Shop <bench@coffee.test>",
      ].join("\n"),
    );
    const [apiConfig = "", floorConfig = ""] = configs;
    const [api, floor] = await Promise.all([
      startWorker("api", apiConfig, state, options.workerLogs ? "log" : "warn", envFile, options.unminified ? ["--minify=false"] : []),
      startWorker("floor", floorConfig, state, "warn"),
    ]);
    started.push(api.process, floor.process);
    const database = databaseUrl ? new URL(databaseUrl).host : "PGlite (in memory)";
    return { services, api: api.worker, floor: floor.worker, database, databaseUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
