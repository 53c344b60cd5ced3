// `npm run bench:scale`: the API at a million users, on a real PostgreSQL server. On one scratch
// database: login, refresh, /users/me and the user list measured on a small database, then again after
// seeding a million users with a million refresh tokens (half expired); the plans of the user list's
// statements at that size; and the cron's purge of the expired half while logins and refreshes go on.
// Writes bench/results-scale.json.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { Pool } from "pg";
import { z } from "zod";
import { getDb } from "../../src/db/client.ts";
import { type UserPage, usersListQuery } from "../../src/db/user-list.ts";
import { POLICY } from "../../src/policy.ts";
import { parseFlags, wholeNumberFlag } from "../../tools/command-line.ts";
import { openPool } from "../../tools/postgres/pool.ts";
import { progressBar, seedUsers } from "../../tools/seed/seed-users.ts";
import { endpointsFor } from "./endpoints.ts";
import { type Endpoint, type Load, loadWhile, type Measurement, measure } from "./load.ts";
import { type DeepPage, type Fixtures, findDeepPage, PAGE_SIZE, prepare } from "./prepare.ts";
import { stopAll } from "./processes.ts";
import { type Stack, startStack } from "./stack.ts";

const USAGE = `BENCH_DATABASE_URL=postgres://… npm run bench:scale -- [flags]: the API at a million users
  --users N          users to seed (default 1000000), each with a session and a refresh token, half expired
  --duration S       seconds of load per endpoint (default 5)
  --connections N    concurrent connections (default 20; the purge runs under half as many per endpoint)
  BENCH_DATABASE_URL a PostgreSQL server (required): the bench makes a scratch database there, drops it after`;

const flags = parseFlags(
  {
    users: { type: "string", default: "1000000" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "20" },
  },
  USAGE,
);

const serverUrl = process.env.BENCH_DATABASE_URL;
if (!serverUrl) {
  console.error(`BENCH_DATABASE_URL is required: a million users need a real PostgreSQL server\n\n${USAGE}`);
  process.exit(2);
}
const users = wholeNumberFlag(flags.users, "users", USAGE);
const seconds = wholeNumberFlag(flags.duration, "duration", USAGE);
const connections = wholeNumberFlag(flags.connections, "connections", USAGE);

// the endpoints whose cost could grow with the tables
const AT_SCALE = ["GET /users/me", "POST /auth/refresh", "POST /auth/login", "GET /users ("];
const CRON = "*/5 * * * *";
const MAX_CRON_RUNS = 30;
const EXPLAIN_RUNS = 5;
const CALM_SECONDS = 10;

async function measureAll(stack: Stack, fixtures: Fixtures): Promise<Measurement[]> {
  const endpoints = (await endpointsFor(stack, fixtures)).filter((endpoint) => AT_SCALE.some((name) => endpoint.name.startsWith(name)));
  const measured: Measurement[] = [];
  for (const endpoint of endpoints) measured.push(await measure(endpoint, stack.services, { connections, seconds }));
  return measured;
}

interface Plan {
  query: string;
  /** Node types from the top, with the index each scan uses. */
  nodes: string[];
  execution_ms: number;
  buffers: number;
}

const ExplainOutput = z.array(
  z.object({ "QUERY PLAN": z.array(z.object({ Plan: z.record(z.string(), z.unknown()), "Execution Time": z.number() })) }),
);
const PlanNode = z.object({
  "Node Type": z.string(),
  "Index Name": z.string().optional(),
  "Shared Hit Blocks": z.number().default(0),
  "Shared Read Blocks": z.number().default(0),
  Plans: z.array(z.record(z.string(), z.unknown())).default([]),
});

function nodesOf(plan: unknown): string[] {
  const node = PlanNode.parse(plan);
  return [`${node["Node Type"]}${node["Index Name"] ? ` using ${node["Index Name"]}` : ""}`, ...node.Plans.flatMap(nodesOf)];
}

/** The statement the API runs for this page, explained with its real run: the median of a few. */
async function explain(pool: Pool, query: string, page: UserPage): Promise<Plan> {
  // a Kysely instance only compiles here; the statement runs on the pool
  const compiled = usersListQuery(getDb("postgres://compile:only@127.0.0.1:1/coffee"), {
    ...page,
    countUpTo: POLICY.lists.countUsersUpTo + 1,
  }).compile();
  const runs = [];
  for (let run = 0; run < EXPLAIN_RUNS; run++) {
    const result = await pool.query({ text: `explain (analyze, buffers, format json) ${compiled.sql}`, values: [...compiled.parameters] });
    const [output] = ExplainOutput.parse(result.rows);
    const [top] = output?.["QUERY PLAN"] ?? [];
    if (!top) throw new Error(`no plan for ${query}`);
    const node = PlanNode.parse(top.Plan);
    runs.push({
      query,
      nodes: nodesOf(top.Plan),
      execution_ms: top["Execution Time"],
      buffers: node["Shared Hit Blocks"] + node["Shared Read Blocks"],
    });
  }
  runs.sort((a, b) => a.execution_ms - b.execution_ms);
  const median = runs[Math.floor(runs.length / 2)];
  if (!median) throw new Error(`no plan for ${query}`);
  return median;
}

async function plans(pool: Pool, deep: DeepPage): Promise<Plan[]> {
  const limit = PAGE_SIZE + 1;
  const first: UserPage = { filters: {}, sort: "-created_at", limit, now: new Date() };
  return [
    await explain(pool, "page 1", first),
    await explain(pool, `page ${deep.page.toLocaleString("en")}`, { ...first, after: deep.after }),
    await explain(pool, `email prefix "${deep.emailPrefix}"`, { ...first, filters: { emailPrefix: deep.emailPrefix } }),
  ];
}

const MaintenanceLine = z.object({
  msg: z.literal("maintenance"),
  purged: z.object({ refresh_tokens: z.number(), sessions: z.number() }),
  purge_batches: z.number(),
  purge_ms: z.number(),
  slowest_batch_ms: z.number(),
  backlog: z.array(z.string()),
});
type CronRun = z.infer<typeof MaintenanceLine>;

function cronReports(stack: Stack): CronRun[] {
  return stack.api.logLines().flatMap((line) => {
    const parsed = MaintenanceLine.safeParse(JSON.parse(line));
    return parsed.success ? [parsed.data] : [];
  });
}

/** Cron runs, one after another, until one leaves no backlog. */
async function purgeUntilDrained(stack: Stack): Promise<CronRun[]> {
  const runs: CronRun[] = [];
  while (runs.length < MAX_CRON_RUNS) {
    const before = cronReports(stack).length;
    const triggered = await fetch(`${stack.api.url}/__scheduled?cron=${encodeURIComponent(CRON)}`);
    await triggered.text();
    let report: CronRun | undefined;
    while (!(report = cronReports(stack)[before])) await delay(200);
    runs.push(report);
    if (report.backlog.length === 0) return runs;
  }
  throw new Error(`the purge still had a backlog after ${MAX_CRON_RUNS} cron runs`);
}

async function counts(pool: Pool) {
  const result = await pool.query<{ expired_tokens: string; live_tokens: string; sessions: string; users: string }>(
    `select (select count(*) from refresh_tokens where expires_at <= now()) as expired_tokens,
            (select count(*) from refresh_tokens where expires_at > now()) as live_tokens,
            (select count(*) from sessions) as sessions,
            (select count(*) from users) as users`,
  );
  const row = result.rows[0];
  if (!row) throw new Error("no counts");
  return {
    expired_tokens: Number(row.expired_tokens),
    live_tokens: Number(row.live_tokens),
    sessions: Number(row.sessions),
    users: Number(row.users),
  };
}

function side(before: Measurement[], after: Measurement[]) {
  return after.map((row, index) => {
    const small = before[index];
    return {
      endpoint: row.endpoint,
      "small req/s": small?.rps,
      "seeded req/s": row.rps,
      "small p50 ms": small?.p50_ms,
      "seeded p50 ms": row.p50_ms,
      "seeded p99 ms": row.p99_ms,
      errors: (small?.errors ?? 0) + row.errors,
      "SQL trips": row.sql_round_trips,
      "seeded ÷ small": small?.rps ? Math.round((row.rps / small.rps) * 100) / 100 : null,
    };
  });
}

const stack = await startStack({ serverUrl, sqlLatencyMs: 0, workerLogs: true });
const { databaseUrl } = stack;
const pool = databaseUrl ? openPool({ connectionString: databaseUrl, max: 2 }) : undefined;
try {
  if (!pool) throw new Error("the scale bench needs the database on a server");
  const fixtures = await prepare(stack.api.url, stack.services, 100);
  console.log(`small database: ${(await counts(pool)).users} users; ${connections} connections, ${seconds} s per endpoint`);
  const before = await measureAll(stack, fixtures);

  const seeded = await seedUsers(pool, {
    users,
    chunk: 100_000,
    password: "seeded passphrase, long enough",
    progress: progressBar(users, "users"),
  });
  console.log(`seeded ${users.toLocaleString("en")} users, sessions and refresh tokens in ${seeded.seconds.toFixed(1)} s`);
  const large = { ...fixtures, deepPage: await findDeepPage(stack.services) };
  const after = await measureAll(stack, large);
  console.log(`\n${stack.database}: the same endpoints on a small database and at ${users.toLocaleString("en")} users`);
  console.table(side(before, after));

  const explained = await plans(pool, large.deepPage);
  console.log("\nthe user list's statements at this size (EXPLAIN ANALYZE, median of 5):");
  console.table(
    explained.map((plan) => ({
      query: plan.query,
      plan: plan.nodes.join(" → "),
      "execution ms": plan.execution_ms,
      buffers: plan.buffers,
    })),
  );
  const [first, deep, prefix] = explained;
  const failures: string[] = [];
  if (!prefix?.nodes.some((node) => node.includes("users_email_prefix_idx")))
    failures.push("the email prefix filter does not use users_email_prefix_idx");
  if (!deep?.nodes.some((node) => node.includes("users_created_idx")))
    failures.push("a deep page does not seek by its order's index (users_created_idx)");

  const countsBefore = await counts(pool);
  const purgeLoad: Endpoint[] = (await endpointsFor(stack, large)).filter(
    (endpoint) => endpoint.name === "POST /auth/login" || endpoint.name === "POST /auth/refresh",
  );
  const purgeConnections = Math.max(1, Math.floor(connections / 2));
  // the same load first without the purge: what the purge costs clients is the difference
  const calm = await loadWhile(purgeLoad, purgeConnections, () => delay(CALM_SECONDS * 1000));
  await delay(1500);
  const purge = await loadWhile(purgeLoad, purgeConnections, () => purgeUntilDrained(stack));
  await delay(1500);
  const countsAfter = await counts(pool);
  console.log(
    `\nthe cron's purge, run after run until no backlog, while logins and refreshes go on (${countsBefore.expired_tokens.toLocaleString("en")} expired refresh tokens before, ${countsAfter.expired_tokens.toLocaleString("en")} after; sessions ${countsBefore.sessions.toLocaleString("en")} → ${countsAfter.sessions.toLocaleString("en")}):`,
  );
  console.table(
    purge.outcome.map((run, index) => ({
      run: index + 1,
      batches: run.purge_batches,
      "purge ms": run.purge_ms,
      "ms per batch": Math.round(run.purge_ms / Math.max(1, run.purge_batches)),
      "slowest batch ms": run.slowest_batch_ms,
      "refresh tokens": run.purged.refresh_tokens,
      sessions: run.purged.sessions,
      backlog: run.backlog.join(", "),
    })),
  );
  console.log(`clients (${purgeConnections} connections each) without the purge (${CALM_SECONDS} s), and during it:`);
  console.table(
    purge.load.map((row: Load, index) => {
      const without = calm.load[index];
      return {
        endpoint: row.endpoint,
        "req/s": without?.rps,
        "p50 ms": without?.p50_ms,
        "p99 ms": without?.p99_ms,
        "purging req/s": row.rps,
        "purging p50 ms": row.p50_ms,
        "purging p99 ms": row.p99_ms,
        errors: (without?.errors ?? 0) + row.errors,
      };
    }),
  );
  if (countsAfter.expired_tokens > 0) failures.push(`${countsAfter.expired_tokens} expired refresh tokens left after the purge`);

  const errors = [...before, ...after, ...calm.load, ...purge.load].reduce((sum, row) => sum + row.errors, 0);
  if (errors > 0) failures.push(`${errors} requests failed`);
  writeFileSync(
    join(import.meta.dirname, "..", "results-scale.json"),
    `${JSON.stringify({ users, seed_seconds: seeded.seconds, small: before, large: after, plans: explained, purge: { runs: purge.outcome, load_without: calm.load, load: purge.load, before: countsBefore, after: countsAfter } }, null, 2)}\n`,
  );
  if (first && deep)
    console.log(
      `\npage ${large.deepPage.page.toLocaleString("en")} ÷ page 1, execution time: ${(deep.execution_ms / first.execution_ms).toFixed(2)}`,
    );
  for (const failure of failures) console.error(failure);
  if (failures.length > 0) process.exitCode = 1;
} catch (error) {
  console.error(`bench:scale failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await pool?.end();
  await stack.stop();
  await stopAll();
}
