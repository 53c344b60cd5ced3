// The users list at 10,001 users matching: a count that stops at 10,000 and says so, a search by name, an order and a
// deep page, each one SQL round trip; and the CSV export of them all, a round trip per thousand.
import { sql } from "kysely";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import { AdminUserSchema } from "../../src/schemas/user.ts";
import { POLICY } from "../../src/policy.ts";
import { bearer, countRoundTrips, login, seededUser } from "./helpers.ts";

const db = getDb(inject("databaseUrl"));
const MATCHING = POLICY.lists.countUsersUpTo + 1;
const prefix = `scale${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;

let adminToken: string;

beforeAll(async () => {
  adminToken = (await login(await seededUser("admin"))).access_token;
  // one statement: a user a second from 2026 on, two in three signed in once, each with a name of their own
  await sql`insert into users (email, password_hash, first_name, last_name, status, created_at, updated_at, last_sign_in_at)
    select ${prefix} || '-' || lpad(g::text, 5, '0') || '@scale.test', 'not-a-usable-hash', 'Given' || g, 'Family' || g,
      'verified', timestamptz '2026-01-01' + g * interval '1 second', timestamptz '2026-01-01',
      case when g % 3 <> 0 then timestamptz '2026-06-01' + (g * 7919 % ${MATCHING}) * interval '1 second' end
    from generate_series(1, ${MATCHING}) as g`.execute(db);
}, 60_000);

async function page(query: string) {
  const { result, roundTrips } = await countRoundTrips((call) => call(`/users?${query}`, bearer(adminToken)));
  expect(result.status).toBe(200);
  const users = AdminUserSchema.array().parse(await result.json());
  return {
    users,
    roundTrips,
    total: [result.headers.get("X-Total-Count"), result.headers.get("X-Total-Count-Exact")],
    link: result.headers.get("Link"),
  };
}

describe(`the users list at ${MATCHING.toLocaleString("en")} users`, () => {
  it(`counts up to ${POLICY.lists.countUsersUpTo.toLocaleString("en")} and says the count stopped there, in one round trip`, async () => {
    const first = await page(`email=${prefix}&limit=100`);
    expect(first.roundTrips).toBe(1);
    expect(first.total).toEqual([String(POLICY.lists.countUsersUpTo), "false"]);
    expect(first.users).toHaveLength(100);
    expect(first.users[0]?.email).toBe(`${prefix}-${String(MATCHING).padStart(5, "0")}@scale.test`);
    const fewer = await page(`email=${prefix}-0&limit=1`);
    expect(fewer.total).toEqual(["9999", "true"]);
  });

  it("finds one of them by a name, and by part of a whole name, in one round trip", async () => {
    const byName = await page(`search=${encodeURIComponent("family4321")}`);
    expect(byName.roundTrips).toBe(1);
    expect(byName.users.map((user) => user.last_name)).toEqual(["Family4321"]);
    const byWholeName = await page(`search=${encodeURIComponent("given4321 family432")}&email=${prefix}`);
    expect(byWholeName.users.map((user) => user.first_name)).toEqual(["Given4321"]);
  });

  it("pages by the latest sign-in, a deep page as cheap as the first: one round trip each, never-signed-in last", async () => {
    let next = `email=${prefix}&sort=-last_sign_in_at&limit=100`;
    const seen: string[] = [];
    for (let pages = 0; pages < 3; pages++) {
      const { users, roundTrips, link } = await page(next);
      expect(roundTrips).toBe(1);
      seen.push(...users.map((user) => user.sign_in.last?.at ?? "never"));
      next = new URL(/<([^>]+)>/.exec(link ?? "")?.[1] ?? "").search.slice(1);
    }
    expect(seen).toEqual([...seen].sort().reverse());
    const latest = await db
      .selectFrom("users")
      .select((eb) => eb.fn.max("last_sign_in_at").as("latest"))
      .where("email", "like", `${prefix}-%`)
      .executeTakeFirstOrThrow();
    expect(seen[0]).toBe(latest.latest?.toISOString());
  });

  it("exports every one of them as CSV, in order, a thousand a round trip", async () => {
    const { result, roundTrips } = await countRoundTrips((call) => call(`/users.csv?email=${prefix}&sort=email`, bearer(adminToken)));
    expect(result.status).toBe(200);
    const lines = (await result.text()).split("\r\n");
    // the header, a line a user, and the empty end after the last line break
    expect(lines).toHaveLength(MATCHING + 2);
    expect(lines.at(-1)).toBe("");
    const emails = lines.slice(1, -1).map((line) => line.split(",")[1]);
    expect(emails[0]).toBe(`${prefix}-00001@scale.test`);
    expect(emails.at(-1)).toBe(`${prefix}-${String(MATCHING).padStart(5, "0")}@scale.test`);
    expect(new Set(emails).size).toBe(MATCHING);
    // the record, then eleven batches of up to a thousand
    expect(roundTrips).toBe(1 + Math.ceil(MATCHING / 1000));
  });
});
