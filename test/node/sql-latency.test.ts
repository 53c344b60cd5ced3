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

async function elapsed(services: LocalServices): Promise<number> {
  const started = performance.now();
  await neonClient(services)`select 1 as one`;
  return performance.now() - started;
}

it("delays every answer by the latency asked, and only the endpoint that was asked", async () => {
  await elapsed(near);
  await elapsed(far);
  const [fast, slow] = [await elapsed(near), await elapsed(far)];
  expect(slow).toBeGreaterThanOrEqual(LATENCY_MS - 5);
  expect(fast).toBeLessThan(LATENCY_MS / 2);
  // a batch is one round trip: one delay, not one per statement
  const sql = neonClient(far);
  const started = performance.now();
  await sql.transaction([sql`select 1`, sql`select 2`, sql`select 3`]);
  expect(performance.now() - started).toBeLessThan(LATENCY_MS * 2);
});
