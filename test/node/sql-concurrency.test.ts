// Requests that arrive together never mix inside one transaction. On PGlite (one session) the endpoint
// must take turns; on a real server each batch has a connection of its own.
import type { NeonQueryFunction } from "@neondatabase/serverless";
import { afterAll, beforeAll, expect, it } from "vitest";
import { neonClient } from "./support/neon-client.ts";
import { startTestServices, type TestServices } from "./support/test-services.ts";

let env: TestServices;
let sql: NeonQueryFunction<false, false>;

beforeAll(async () => {
  env = await startTestServices();
  sql = neonClient(env.services);
  await sql`create table marks (tag text not null, n int not null)`;
});

afterAll(async () => {
  await env?.stop();
});

it("keeps concurrent batches, failing batches and single statements apart", async () => {
  const batch = (tag: string) =>
    sql.transaction([
      sql`insert into marks values (${tag}, 1)`,
      sql`insert into marks values (${tag}, 2)`,
      sql`insert into marks values (${tag}, 3)`,
      // a failing batch's rows would be visible here if its statements ran inside this transaction
      sql`select count(*) filter (where tag = ${tag})::int as own, count(*) filter (where tag = 'failed')::int as failed from marks`,
    ]);
  const failingBatch = () =>
    sql.transaction([sql`insert into marks values ('failed', 1)`, sql`insert into marks values ('failed', 2)`, sql`select 1 / 0`]);
  const single = (index: number) => sql`insert into marks values ('single', ${index})`;

  const work: Promise<unknown>[] = [];
  const batches: ReturnType<typeof batch>[] = [];
  for (let index = 0; index < 20; index += 1) {
    const tagged = batch(`batch-${index}`);
    batches.push(tagged);
    work.push(tagged, single(index));
    if (index % 4 === 0)
      work.push(
        failingBatch().then(
          () => "committed?",
          (error: { code?: string }) => error.code,
        ),
      );
  }
  const outcomes = await Promise.all(work);

  expect(outcomes.filter((outcome) => outcome === "22012")).toHaveLength(5);
  for (const results of await Promise.all(batches)) expect(results[3]).toEqual([{ own: 3, failed: 0 }]);
  const counts = await sql`select tag, count(*)::int as rows from marks group by tag`;
  expect(counts).toHaveLength(21);
  expect(counts).toEqual(
    expect.arrayContaining([
      { tag: "single", rows: 20 },
      ...Array.from({ length: 20 }, (_, index) => ({ tag: `batch-${index}`, rows: 3 })),
    ]),
  );
});
