// --sql-latency-ms: the local SQL endpoint answers as late as a database region far from the edge would.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type LocalServices, startLocalServices } from "../../tools/local-services/server.ts";
import { neonClient } from "./support/neon-client.ts";
import { openTestDatabase, type TestDatabase } from "./support/test-database.ts";

const LATENCY_MS = 120;

let database: TestDatabase;
let near: LocalServices;
let far: LocalServices;

beforeAll(async () => {
  database = await openTestDatabase();
  [near, far] = await Promise.all([
    startLocalServices({ port: 0, ...database.servicesOptions, migrationsDir: "/nonexistent" }),
    startLocalServices({ port: 0, ...database.servicesOptions, migrationsDir: "/nonexistent", sqlLatencyMs: LATENCY_MS }),
  ]);
});

afterAll(async () => {
  await Promise.all([near?.close(), far?.close()]);
  await database?.close();
});

/** The quickest of three runs: a busy machine adds to some runs, never takes away from all of them. */
async function quickest(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return Math.min(...times);
}

it("delays every answer by the latency asked, and only the endpoint that was asked", async () => {
  const [fast, slow] = [await quickest(() => neonClient(near)`select 1 as one`), await quickest(() => neonClient(far)`select 1 as one`)];
  expect(slow).toBeGreaterThanOrEqual(LATENCY_MS - 5);
  expect(fast).toBeLessThan(LATENCY_MS / 2);
  // a batch is one round trip: one delay, not one per statement (six would take 720 ms)
  const sql = neonClient(far);
  const batch = await quickest(() => sql.transaction([1, 2, 3, 4, 5, 6].map((n) => sql`select ${n}::int`)));
  expect(batch).toBeGreaterThanOrEqual(LATENCY_MS - 5);
  expect(batch).toBeLessThan(LATENCY_MS * 3);
});
