// The migration runner: files apply in order, once, atomically, with checksums that catch edits.
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { openPool } from "../../tools/postgres/pool.ts";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startLocalServices } from "../../tools/local-services/server.ts";
import { applyMigrations } from "../../tools/migrations/apply-migrations.ts";
import { MigrationError } from "../../tools/migrations/migration-error.ts";
import { postgresMigrationExecutor } from "../../tools/migrations/postgres-executor.ts";
import { onRealPostgres, openTestDatabase, type TestDatabase } from "./support/test-database.ts";
import { tempFolder, writeFiles } from "./support/temp-folders.ts";

const FIRST = {
  "0001_drinks.sql": "create table drinks (id int primary key, name text not null);\ninsert into drinks values (1, 'espresso');\n",
  // depends on the first: it only applies after it
  "0002_prices.sql":
    "create table prices (drink_id int not null references drinks (id), cents int not null);\ninsert into prices values (1, 250);\n",
};

let database: TestDatabase;
let direct: pg.Client;
let folder: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  database = await openTestDatabase();
  direct = new pg.Client({ connectionString: database.url });
  await direct.connect();
});

afterAll(async () => {
  await direct?.end();
  await database?.close();
});

beforeEach(async () => {
  await direct.query("drop schema public cascade; create schema public");
  folder = await tempFolder("migrations");
  await writeFiles(folder.path, FIRST);
});

afterEach(async () => {
  await folder.remove();
});

async function tableNames(): Promise<string[]> {
  const { rows } = await direct.query<{ name: string }>(
    "select table_name as name from information_schema.tables where table_schema = 'public' order by 1",
  );
  return rows.map((row) => row.name);
}

async function recorded(): Promise<{ name: string; checksum: string }[]> {
  const { rows } = await direct.query<{ name: string; checksum: string }>("select name, checksum from schema_migrations order by name");
  return rows;
}

describe("applyMigrations", () => {
  it("applies the files in order, once, and records their checksums", async () => {
    expect(await applyMigrations(database.migrations, folder.path)).toEqual(["0001_drinks.sql", "0002_prices.sql"]);
    expect(await applyMigrations(database.migrations, folder.path)).toEqual([]);
    expect(await recorded()).toEqual(
      Object.entries(FIRST).map(([name, sql]) => ({ name, checksum: createHash("sha256").update(sql).digest("hex") })),
    );
    expect((await direct.query("select count(*)::int as n from prices")).rows).toEqual([{ n: 1 }]);
  });

  it("applies only the files added since", async () => {
    await applyMigrations(database.migrations, folder.path);
    await writeFiles(folder.path, { "0003_sizes.sql": "alter table drinks add column size text;" });
    expect(await applyMigrations(database.migrations, folder.path)).toEqual(["0003_sizes.sql"]);
  });

  it("refuses to run, applying nothing, when an applied file has changed", async () => {
    await applyMigrations(database.migrations, folder.path);
    await writeFiles(folder.path, {
      "0001_drinks.sql": `${FIRST["0001_drinks.sql"]}-- an edit\n`,
      "0003_sizes.sql": "create table sizes (name text);",
    });
    const run = applyMigrations(database.migrations, folder.path);
    await expect(run).rejects.toThrow(MigrationError);
    await expect(run).rejects.toThrow(/^0001_drinks\.sql has changed since it was applied/);
    expect(await tableNames()).not.toContain("sizes");
    expect(await recorded()).toHaveLength(2);
  });

  it("rolls a failing migration back entirely and names the file, the line and Postgres's message", async () => {
    await writeFiles(folder.path, {
      "0003_broken.sql": "create table sizes (name text);\ninsert into sizes values ('small');\nselect * from missing_table;\n",
      "0004_after.sql": "create table after_broken (id int);",
    });
    const run = applyMigrations(database.migrations, folder.path);
    await expect(run).rejects.toThrow('0003_broken.sql failed at line 3: relation "missing_table" does not exist');
    // the files before it stay applied; nothing of it or after it exists
    expect(await tableNames()).toEqual(["drinks", "prices", "schema_migrations"]);
    expect((await recorded()).map((row) => row.name)).toEqual(["0001_drinks.sql", "0002_prices.sql"]);
  });

  it("refuses files not named NNNN_name.sql, and two files with one number", async () => {
    await writeFiles(folder.path, { "init.sql": "select 1;" });
    await expect(applyMigrations(database.migrations, folder.path)).rejects.toThrow("init.sql: migration files are named NNNN_name.sql");
    await rm(join(folder.path, "init.sql"));
    await writeFiles(folder.path, { "0002_other.sql": "select 1;" });
    await expect(applyMigrations(database.migrations, folder.path)).rejects.toThrow(
      "0002_other.sql and 0002_prices.sql share the number 0002",
    );
    expect(await tableNames()).toEqual([]);
  });

  it.runIf(onRealPostgres)("applies each file once when two runners start together", async () => {
    await writeFiles(folder.path, {
      // slow enough that the second runner arrives while the first holds the lock
      "0001_drinks.sql": `select pg_sleep(0.3);\n${FIRST["0001_drinks.sql"]}`,
      "0003_sizes.sql": "select pg_sleep(0.1);\ncreate table sizes (name text);",
    });
    const pools = [openPool({ connectionString: database.url }), openPool({ connectionString: database.url })];
    try {
      const runs = await Promise.all(pools.map((pool) => applyMigrations(postgresMigrationExecutor(pool), folder.path)));
      expect(runs.flat().sort()).toEqual(["0001_drinks.sql", "0002_prices.sql", "0003_sizes.sql"]);
      expect(runs.every((applied) => applied.length > 0)).toBe(true);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
    expect(await recorded()).toHaveLength(3);
  });
});

describe("the local services", () => {
  it("apply the migrations at start and on POST /migrate", async () => {
    const services = await startLocalServices({ port: 0, ...database.servicesOptions, migrationsDir: folder.path });
    try {
      expect(await tableNames()).toEqual(["drinks", "prices", "schema_migrations"]);
      await writeFiles(folder.path, { "0003_sizes.sql": "create table sizes (name text);" });
      const migrated = await fetch(`${services.url}/migrate`, { method: "POST" });
      expect(await migrated.json()).toEqual({ applied: ["0003_sizes.sql"] });

      await writeFiles(folder.path, { "0004_broken.sql": "create tabel oops (id int);" });
      const failed = await fetch(`${services.url}/migrate`, { method: "POST" });
      expect(failed.status).toBe(500);
      expect(await failed.text()).toMatch(/^0004_broken\.sql failed at line 1: syntax error at or near "tabel"/);
    } finally {
      await services.close();
    }
  });
});
