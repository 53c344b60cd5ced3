// The local SQL endpoint speaks Neon's protocol faithfully: the same statements through the Neon HTTP
// driver (via the endpoint) and through node-postgres (straight to the same database) give the same
// values, the same result metadata and the same errors.
import { NeonDbError, type NeonQueryFunction } from "@neondatabase/serverless";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { neonClient, neonConnectionString } from "./support/neon-client.ts";
import { onRealPostgres } from "./support/test-database.ts";
import { startTestServices, type TestServices } from "./support/test-services.ts";

let env: TestServices;
let sql: NeonQueryFunction<false, false>;
let direct: pg.Client;

beforeAll(async () => {
  env = await startTestServices();
  sql = neonClient(env.services);
  direct = new pg.Client({ connectionString: env.database.url });
  await direct.connect();
  await direct.query(`
    create table parents (id int primary key, name text not null);
    create table children (id int primary key, parent_id int not null references parents (id));
    create table notes (id bigint generated always as identity primary key, body text not null)`);
});

afterAll(async () => {
  await direct?.end();
  await env?.stop();
});

/** Runs a statement both ways, as Neon runs it: extended protocol, rows as arrays. */
async function bothWays(text: string, params: unknown[] = []) {
  const viaEndpoint = await sql.query(text, params, { fullResults: true, arrayMode: true });
  const viaPostgres = await direct.query({ text, values: params, rowMode: "array", queryMode: "extended" });
  return { viaEndpoint, viaPostgres };
}

/** Asserts both ways agree and returns the rows (as the driver parsed them) for further checks. */
async function expectSameResults(text: string, params: unknown[] = []): Promise<unknown[][]> {
  const { viaEndpoint, viaPostgres } = await bothWays(text, params);
  expect(viaEndpoint.rows).toEqual(viaPostgres.rows);
  expect(viaEndpoint.command).toBe(viaPostgres.command);
  expect(viaEndpoint.rowCount).toBe(viaPostgres.rowCount);
  const nameAndType = ({ name, dataTypeID }: { name: string; dataTypeID: number }) => [name, dataTypeID];
  expect(viaEndpoint.fields.map(nameAndType)).toEqual(viaPostgres.fields.map(nameAndType));
  // PGlite reports only a field's name and type; a real server reports all of it, relayed as is.
  if (onRealPostgres) expect(viaEndpoint.fields).toEqual(viaPostgres.fields.map((field) => ({ ...field })));
  return viaEndpoint.rows;
}

const ERROR_FIELDS = [
  "message",
  "severity",
  "code",
  "detail",
  "hint",
  "position",
  "internalPosition",
  "internalQuery",
  "where",
  "schema",
  "table",
  "column",
  "dataType",
  "constraint",
  "file",
  "line",
  "routine",
] as const;

/** Asserts both ways fail the same way and returns the driver's error. */
async function expectSameError(text: string, params: unknown[] = []): Promise<NeonDbError> {
  const viaEndpoint = await sql.query(text, params).catch((error: unknown) => error);
  const viaPostgres = await direct.query({ text, values: params, queryMode: "extended" }).catch((error: unknown) => error);
  if (!(viaEndpoint instanceof NeonDbError)) throw new Error(`expected a NeonDbError, got ${String(viaEndpoint)}`);
  if (!(viaPostgres instanceof pg.DatabaseError)) throw new Error(`expected a DatabaseError, got ${String(viaPostgres)}`);
  for (const field of ERROR_FIELDS) expect([field, viaEndpoint[field]]).toEqual([field, viaPostgres[field]]);
  return viaEndpoint;
}

describe("values", () => {
  it("relays integers, bigints beyond 2^53 and numerics exactly", async () => {
    const [row] = await expectSameResults(
      "select $1::int2 as small, $2::int4 as regular, $3::int8 as big, 9223372036854775807::int8 as biggest, " +
        "$4::numeric as exact, 0.1 + 0.2 as sum, 'NaN'::numeric as nan, 0.1::float8 + 0.2::float8 as float",
      [-32768, 2147483647, "9007199254740993", "12345678901234567890.123456789"],
    );
    expect(row).toEqual([
      -32768,
      2147483647,
      "9007199254740993",
      "9223372036854775807",
      "12345678901234567890.123456789",
      "0.3",
      "NaN",
      0.30000000000000004,
    ]);
  });

  it("relays text in any script, with combining characters, emoji, quotes and backslashes", async () => {
    const text = "☕ Café crème e\u0301 👩‍👩‍👧 עברית 漢字 \"double\" 'single' \\back\\slash\\ tab\tnew\nline";
    const [row] = await expectSameResults("select $1::text as t, length($1::text) as characters, octet_length($1::text) as bytes", [text]);
    expect(row?.[0]).toBe(text);
  });

  it("relays booleans and NULLs", async () => {
    const [row] = await expectSameResults("select true as yes, $1::bool as no, $2::text as nothing, null::int as none", [false, null]);
    expect(row).toEqual([true, false, null, null]);
  });

  it("relays json and jsonb", async () => {
    const value = { a: [1, "x", null, true], nested: { emoji: "☕", quote: '"' } };
    const [row] = await expectSameResults(
      `select $1::json as j, $2::jsonb as jb, '{"b": 2, "a": [1, 2]}'::jsonb as literal, '"just text"'::json as scalar`,
      [value, value],
    );
    expect(row).toEqual([value, value, { a: [1, 2], b: 2 }, "just text"]);
  });

  it("relays timestamptz, date and uuid", async () => {
    const instant = new Date("2024-01-02T03:04:05.678Z");
    const [row] = await expectSameResults(
      "select $1::timestamptz as t, '2024-02-29 23:59:59.123+05:30'::timestamptz as literal, " +
        "'2024-02-29'::date as d, $2::uuid as u, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid as upper",
      [instant, "0190b6f4-2c5e-7b4a-9c1d-3e5f7a9b1c2d"],
    );
    expect(row?.[0]).toEqual(instant);
    expect(row?.[4]).toBe("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  });

  it("runs sessions in UTC, as Neon does, so timestamptz text reads the same", async () => {
    const rows = await sql.query("select current_setting('TimeZone') as zone, $1::timestamptz::text as text", [
      new Date("2024-01-02T03:04:05.678Z"),
    ]);
    expect(rows).toEqual([{ zone: "UTC", text: "2024-01-02 03:04:05.678+00" }]);
  });

  it("relays bytea as parameters and results", async () => {
    const bytes = Buffer.from([0, 1, 2, 127, 128, 254, 255, 92, 120]);
    const [row] = await expectSameResults("select $1::bytea as b, '\\xdeadbeef'::bytea as literal, length($1::bytea) as size", [bytes]);
    expect(row).toEqual([bytes, Buffer.from("deadbeef", "hex"), bytes.length]);
  });

  it("relays arrays, with commas, quotes, backslashes and NULLs in their elements", async () => {
    const texts = ["a,b", 'c"d', null, "e\\f", "", "NULL", " spaced ", "{braces}"];
    const [row] = await expectSameResults(
      "select $1::int[] as ints, $2::text[] as texts, array[]::int[] as empty, '{{1,2},{3,4}}'::int[] as nested",
      [[1, null, 3], texts],
    );
    expect(row).toEqual([
      [1, null, 3],
      texts,
      [],
      [
        [1, 2],
        [3, 4],
      ],
    ]);
  });
});

describe("result metadata (fullResults)", () => {
  // Each statement runs twice (once each way), so these are written to report the same both times.
  it("matches for inserts, updates, selects and deletes", async () => {
    await sql`create table scratch_pad (id int)`;
    await expectSameResults("insert into scratch_pad values (1), (2), (3)");
    await expectSameResults("update scratch_pad set id = id where id > 1");
    await expectSameResults("select id, id * 2 as twice from scratch_pad order by id");
    await expectSameResults("delete from scratch_pad where id > 100 returning id");
    await expectSameResults("create table if not exists scratch_pad (id int)");
  });

  it("reports the command tag's first word and its row count, or null without one", async () => {
    const commandAndCount = async (text: string) => {
      const { command, rowCount } = await sql.query(text, [], { fullResults: true });
      return [command, rowCount];
    };
    expect(await commandAndCount("create table tagged (id int)")).toEqual(["CREATE", null]);
    expect(await commandAndCount("insert into tagged values (1), (2)")).toEqual(["INSERT", 2]);
    expect(await commandAndCount("update tagged set id = id + 1")).toEqual(["UPDATE", 2]);
    expect(await commandAndCount("delete from tagged returning id")).toEqual(["DELETE", 2]);
    expect(await commandAndCount("drop table tagged")).toEqual(["DROP", null]);
  });
});

describe("errors", () => {
  it("reports a unique violation with its code, constraint, detail and table", async () => {
    await sql`insert into parents values (1, 'first')`;
    const error = await expectSameError("insert into parents values ($1, $2)", [1, "again"]);
    expect(error).toMatchObject({
      code: "23505",
      constraint: "parents_pkey",
      table: "parents",
      detail: "Key (id)=(1) already exists.",
    });
  });

  it("reports a foreign-key violation the same way", async () => {
    const error = await expectSameError("insert into children values ($1, $2)", [1, 99]);
    expect(error).toMatchObject({ code: "23503", constraint: "children_parent_id_fkey", table: "children" });
  });

  it("reports a syntax error with its position", async () => {
    const error = await expectSameError("select 1 frm parents");
    expect(error).toMatchObject({ code: "42601", position: "14" });
  });

  it("reports a raised exception with its hint, detail and where", async () => {
    const error = await expectSameError("do $$ begin raise exception 'boom' using detail = 'the detail', hint = 'the hint'; end $$");
    expect(error).toMatchObject({ message: "boom", code: "P0001", detail: "the detail", hint: "the hint" });
    expect(error.where).toContain("PL/pgSQL");
  });

  it("refuses two statements in one query, as the extended protocol does", async () => {
    const error = await expectSameError("select 1; select 2");
    expect(error.code).toBe("42601");
  });
});

describe("batches (sql.transaction)", () => {
  it("returns each statement's result", async () => {
    const [inserted, counted] = await sql.transaction([
      sql`insert into notes (body) values ('one'), ('two') returning body`,
      sql`select count(*)::int as n from notes where body in ('one', 'two')`,
    ]);
    expect(inserted).toEqual([{ body: "one" }, { body: "two" }]);
    expect(counted).toEqual([{ n: 2 }]);
  });

  it("leaves nothing behind when a statement fails", async () => {
    const failed = sql.transaction([
      sql`insert into parents values (500, 'kept?')`,
      sql`insert into notes (body) values ('kept?')`,
      sql`insert into parents values (500, 'duplicate')`,
    ]);
    await expect(failed).rejects.toMatchObject({ code: "23505", constraint: "parents_pkey" });
    const { rows } = await direct.query(
      "select (select count(*) from parents where id = 500) + (select count(*) from notes where body = 'kept?') as n",
    );
    expect(rows).toEqual([{ n: "0" }]);
  });

  it("applies the isolation level, read-only and deferrable settings", async () => {
    const settings = sql`select current_setting('transaction_isolation') as isolation,
      current_setting('transaction_read_only') as read_only, current_setting('transaction_deferrable') as deferrable`;
    const inBatch = (options?: Parameters<typeof sql.transaction>[1]) => sql.transaction([settings], options);
    expect(await inBatch({ isolationLevel: "Serializable", readOnly: true, deferrable: true })).toEqual([
      [{ isolation: "serializable", read_only: "on", deferrable: "on" }],
    ]);
    expect(await inBatch({ isolationLevel: "RepeatableRead", readOnly: false })).toEqual([
      [{ isolation: "repeatable read", read_only: "off", deferrable: "off" }],
    ]);
    expect(await inBatch()).toEqual([[{ isolation: "read committed", read_only: "off", deferrable: "off" }]]);
  });

  it("refuses a write in a read-only batch", async () => {
    const write = sql.transaction([sql`insert into notes (body) values ('read-only?')`], { readOnly: true });
    await expect(write).rejects.toMatchObject({ code: "25006" });
    expect(await sql`select count(*)::int as n from notes where body = 'read-only?'`).toEqual([{ n: 0 }]);
  });

  it("does not let a lone BEGIN leave later requests inside a transaction", async () => {
    await sql`begin`;
    // Outside a transaction every statement gets a transaction id of its own.
    const [first] = await sql`select pg_current_xact_id()::text as id`;
    const [second] = await sql`select pg_current_xact_id()::text as id`;
    expect(first?.id).not.toBe(second?.id);
  });
});

describe("the protocol itself", () => {
  async function post(body: string, headers: Record<string, string> = {}) {
    return fetch(`${env.services.url}/sql`, {
      method: "POST",
      body,
      headers: { "Neon-Connection-String": neonConnectionString(env.services), ...headers },
    });
  }

  it("answers with raw text values and full field descriptions, as objects unless Neon-Array-Mode is on", async () => {
    const body = JSON.stringify({ query: "select 1 as one, 'x' as two, null::int8 as three, $1::bool as four", params: ["t"] });
    const field = (name: string, dataTypeID: number) => ({
      name,
      dataTypeID,
      tableID: expect.any(Number),
      columnID: expect.any(Number),
      dataTypeSize: expect.any(Number),
      dataTypeModifier: expect.any(Number),
      format: "text",
    });
    const fields = [field("one", 23), field("two", 25), field("three", 20), field("four", 16)];

    const objects = await post(body);
    expect(objects.status).toBe(200);
    expect(await objects.json()).toEqual({
      fields,
      rows: [{ one: "1", two: "x", three: null, four: "t" }],
      command: "SELECT",
      rowCount: 1,
      rowAsArray: false,
    });

    const arrays = await post(body, { "Neon-Array-Mode": "true" });
    expect(await arrays.json()).toEqual({ fields, rows: [["1", "x", null, "t"]], command: "SELECT", rowCount: 1, rowAsArray: true });
  });

  it("answers a failed statement with HTTP 400 and every error field, missing ones null", async () => {
    const response = await post(JSON.stringify({ query: "select * from nowhere", params: [] }));
    expect(response.status).toBe(400);
    const body = z.record(z.string(), z.unknown()).parse(await response.json());
    expect(Object.keys(body).sort()).toEqual([...ERROR_FIELDS].sort());
    expect(body).toMatchObject({ code: "42P01", position: "15", detail: null, constraint: null, severity: "ERROR" });
  });

  it("answers malformed requests with a plain-text error that is not a 400", async () => {
    const cases: [string, Record<string, string>][] = [
      ["{not json", {}],
      [JSON.stringify({ params: [] }), {}],
      [JSON.stringify({ query: "select $1", params: [1] }), {}],
      [JSON.stringify({ queries: [{ query: "select 1" }] }), { "Neon-Batch-Isolation-Level": "Chaos" }],
    ];
    for (const [body, headers] of cases) {
      const response = await post(body, headers);
      expect(response.status).toBe(422);
      expect(response.headers.get("content-type")).toContain("text/plain");
    }
  });

  it("surfaces a missing Neon-Connection-String in the driver as a server error", async () => {
    // The driver's fetchOptions replace its headers, so this request goes out without Neon's.
    const request = sql.query("select 1", [], { fetchOptions: { headers: {} } });
    await expect(request).rejects.toThrow("Server error (HTTP status 422): Missing Neon-Connection-String header");
  });
});
