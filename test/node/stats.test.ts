// GET /stats counts the requests served, by endpoint and by SQL user, so tests can count round trips.
import { afterAll, beforeAll, expect, it } from "vitest";
import { neonClient, neonConnectionString } from "./support/neon-client.ts";
import { startTestServices, type TestServices } from "./support/test-services.ts";

let env: TestServices;

beforeAll(async () => {
  env = await startTestServices();
});

afterAll(async () => {
  await env?.stop();
});

async function stats() {
  const response = await fetch(`${env.services.url}/stats`);
  expect(response.status).toBe(200);
  return response.json();
}

it("counts requests per endpoint and SQL requests per user, and DELETE resets them", async () => {
  const alice = neonClient(env.services, "alice");
  const bob = neonClient(env.services, "bob");
  await alice`select 1`;
  await alice.transaction([alice`select 1`, alice`select 2`, alice`select 3`]);
  await alice`select nothing_here`.catch(() => undefined);
  await bob`select 1`;
  // a malformed request is still a request by that user
  await fetch(`${env.services.url}/sql`, {
    method: "POST",
    body: "{",
    headers: { "Neon-Connection-String": neonConnectionString(env.services, "bob") },
  });
  await fetch(`${env.services.url}/emails`);
  await fetch(`${env.services.url}/`);
  await fetch(`${env.services.url}/nowhere`);
  await stats();

  expect(await stats()).toEqual({
    requests: { "POST /sql": 5, "GET /emails": 1, "GET /": 1 },
    sql_by_user: { alice: 3, bob: 2 },
  });

  const reset = await fetch(`${env.services.url}/stats`, { method: "DELETE" });
  expect(reset.status).toBe(204);
  expect(await stats()).toEqual({ requests: {}, sql_by_user: {} });
});
