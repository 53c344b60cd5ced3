// The local services as a developer runs them: `npm run services`, and an embedded database that
// keeps its data between runs.
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { startLocalServices } from "../../tools/local-services/server.ts";
import { startNode } from "./support/child-process.ts";
import { neonClient } from "./support/neon-client.ts";
import { tempFolder } from "./support/temp-folders.ts";

const SERVICES_MAIN = fileURLToPath(new URL("../../tools/local-services/main.ts", import.meta.url));

let folder: { path: string; remove(): Promise<void> };

beforeEach(async () => {
  folder = await tempFolder("services");
});

afterEach(async () => {
  await folder.remove();
});

it("keeps PGlite's data in its data folder across a restart", async () => {
  const options = { port: 0, dataDir: join(folder.path, "pglite"), migrationsDir: join(folder.path, "none") };
  const first = await startLocalServices(options);
  try {
    const sql = neonClient(first);
    await sql`create table beans (origin text)`;
    await sql`insert into beans values ('Huila')`;
  } finally {
    await first.close();
  }
  const second = await startLocalServices(options);
  try {
    expect(await neonClient(second)`select origin from beans`).toEqual([{ origin: "Huila" }]);
  } finally {
    await second.close();
  }
});

it("`npm run services` prints its URLs, serves, and stops cleanly on Ctrl-C", async () => {
  const services = startNode(SERVICES_MAIN, ["--port", "0", "--data-dir", join(folder.path, "pglite")]);
  try {
    const [, url] = await services.waitForOutput(/SQL endpoint \(Neon protocol\)\s+(http:\/\/127\.0\.0\.1:\d+)\/sql/);
    const [, port] = await services.waitForOutput(/DATABASE_URL for the Worker:\s+postgres:\/\/local:local@127\.0\.0\.1:(\d+)\/coffee/);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const stats = await fetch(`${url}/stats`);
    expect(await stats.json()).toEqual({ requests: {}, sql_by_user: {} });
  } finally {
    services.child.kill("SIGINT");
  }
  const { code, stderr } = await services.finished;
  expect(stderr).toBe("");
  expect(code).toBe(0);
});
