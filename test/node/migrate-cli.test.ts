// `npm run db:migrate`: through the running local services, else on the embedded database directly,
// or on any Postgres URL.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startNode, unusedPort } from "./support/child-process.ts";
import { neonClient } from "./support/neon-client.ts";
import { onRealPostgres, openTestDatabase } from "./support/test-database.ts";
import { startTestServices, type TestServices } from "./support/test-services.ts";
import { tempFolder, writeFiles } from "./support/temp-folders.ts";

const MIGRATE = fileURLToPath(new URL("../../tools/cli/migrate.ts", import.meta.url));
const REPO_MIGRATIONS = readdirSync(fileURLToPath(new URL("../../migrations", import.meta.url)))
  .filter((name) => name.endsWith(".sql"))
  .sort();

let folder: { path: string; remove(): Promise<void> };
let env: TestServices;

beforeAll(async () => {
  folder = await tempFolder("migrate-cli");
  await writeFiles(folder.path, { "0001_cups.sql": "create table cups (size text);" });
  env = await startTestServices(folder.path);
});

afterAll(async () => {
  await env?.stop();
  await folder?.remove();
});

/** Runs the CLI with this process's environment minus any DATABASE_URL, plus `environment`. */
function migrate(args: string[], environment: Record<string, string> = {}) {
  const inherited = { ...process.env };
  delete inherited.DATABASE_URL;
  return startNode(MIGRATE, args, { ...inherited, ...environment }).finished;
}

it("applies through the running local services, and fails with the file named", async () => {
  await writeFiles(folder.path, { "0002_lids.sql": "create table lids (size text);" });
  const run = await migrate(["--services-url", env.services.url]);
  expect(run).toMatchObject({ code: 0, stderr: "" });
  expect(run.stdout).toContain("Applied 0002_lids.sql");
  expect(await neonClient(env.services)`select count(*)::int as n from lids`).toEqual([{ n: 0 }]);

  expect((await migrate(["--services-url", env.services.url])).stdout).toContain("Nothing to apply: up to date.");

  await writeFiles(folder.path, { "0003_broken.sql": "create tabel oops (id int);" });
  const failed = await migrate(["--services-url", env.services.url]);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toMatch(/^db:migrate failed: 0003_broken\.sql failed at line 1: syntax error/);
  expect(failed.stderr).not.toContain("    at ");
});

it("opens the embedded database itself when the local services are not running", async () => {
  const dataDir = await tempFolder("migrate-pglite");
  try {
    const args = ["--services-url", `http://127.0.0.1:${await unusedPort()}`, "--data-dir", join(dataDir.path, "pglite")];
    const run = await migrate(args, { DATABASE_URL: "postgres://local:local@127.0.0.1:8788/coffee" });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toContain("Local services not running; migrating the embedded database");
    for (const name of REPO_MIGRATIONS) expect(run.stdout).toContain(`Applied ${name}`);
  } finally {
    await dataDir.remove();
  }
});

it("takes a DATABASE_URL naming another machine as a Postgres to migrate directly", async () => {
  // .invalid never resolves: the attempt itself shows which way it went
  const run = await migrate(["--services-url", env.services.url], { DATABASE_URL: "postgres://app@db.invalid:5432/coffee" });
  expect(run.stdout).toContain("Migrating Postgres at db.invalid/coffee");
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/^db:migrate failed: .*ENOTFOUND db\.invalid/);
});

it.runIf(onRealPostgres)("applies directly to the Postgres given by --database-url", async () => {
  const database = await openTestDatabase();
  try {
    const run = await migrate(["--database-url", database.url]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    for (const name of REPO_MIGRATIONS) expect(run.stdout).toContain(`Applied ${name}`);
    expect((await migrate(["--database-url", database.url])).stdout).toContain("Nothing to apply: up to date.");
  } finally {
    await database.close();
  }
});
