// The SQL endpoint's fault switch, which the Worker's fault tests rely on to fail as a database does.
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { neonClient } from "./support/neon-client.ts";
import { startTestServices, type TestServices } from "./support/test-services.ts";

const MIGRATIONS = fileURLToPath(new URL("../../migrations", import.meta.url));

let env: TestServices;

beforeAll(async () => {
  env = await startTestServices(MIGRATIONS);
  await neonClient(env.services)`create table fault_probe (id int)`;
});

afterAll(async () => {
  await env?.stop();
});

afterEach(async () => {
  await fetch(`${env.services.url}/sql/faults`, { method: "DELETE" });
});

async function arm(fault: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${env.services.url}/sql/faults`, { method: "POST", body: JSON.stringify(fault) });
  expect(response.status).toBe(200);
}

describe("POST /sql/faults", () => {
  it("answers a 5xx to the next requests of one database user only, then disarms", async () => {
    await arm({ mode: "status", status: 503, count: 1, user: "victim" });
    await expect(neonClient(env.services, "bystander")`select 1 as one`).resolves.toEqual([{ one: 1 }]);
    await expect(neonClient(env.services, "victim")`select 1 as one`).rejects.toThrow(/HTTP status 503/);
    await expect(neonClient(env.services, "victim")`select 1 as one`).resolves.toEqual([{ one: 1 }]);
  });

  it("lets the first requests through with skip", async () => {
    await arm({ mode: "status", status: 502, skip: 1, count: 1, user: "later" });
    const sql = neonClient(env.services, "later");
    await expect(sql`select 1 as one`).resolves.toEqual([{ one: 1 }]);
    await expect(sql`select 1 as one`).rejects.toThrow(/HTTP status 502/);
  });

  it("holds a request for the time asked", async () => {
    await arm({ mode: "hang", ms: 300, user: "slow" });
    const started = Date.now();
    await expect(neonClient(env.services, "slow")`select 1 as one`).resolves.toEqual([{ one: 1 }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("drops the connection without an answer", async () => {
    await arm({ mode: "drop", user: "dropped" });
    await expect(neonClient(env.services, "dropped")`select 1 as one`).rejects.toThrow(/Error connecting to database/);
  });

  it("fails one statement of a batch with a transient Postgres error, and the batch rolls back whole", async () => {
    await arm({ mode: "fail-query", query: 1, user: "batch" });
    const sql = neonClient(env.services, "batch");
    await expect(sql.transaction([sql`insert into fault_probe values (1)`, sql`select count(*) from fault_probe`])).rejects.toMatchObject({
      code: "40001",
    });
    await expect(neonClient(env.services)`select count(*)::int as n from fault_probe`).resolves.toEqual([{ n: 0 }]);
  });

  it("refuses a fault it does not know", async () => {
    const response = await fetch(`${env.services.url}/sql/faults`, { method: "POST", body: JSON.stringify({ mode: "explode" }) });
    expect(response.status).toBe(422);
  });
});
