// The users list as an admin works through it: six orders, each paged by keyset through the Link header; a search
// anywhere in the address, the names or the id; the count of the users the filters match; and its CSV export.
import { beforeAll, describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import type { AuthEvent } from "../../src/schemas/events.ts";
import { type AdminUser, AdminUserSchema, type UserSort } from "../../src/schemas/user.ts";
import {
  api,
  BASE_URL,
  bearer,
  type Call,
  client,
  countRoundTrips,
  expectProblem,
  login,
  manualClock,
  seededUser,
  type TestUser,
} from "./helpers.ts";

const db = getDb(inject("databaseUrl"));

let admin: TestUser;
let adminToken: string;

beforeAll(async () => {
  admin = await seededUser("admin");
  adminToken = (await login(admin)).access_token;
});

function uniquePrefix(label: string): string {
  return `${label}${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
}

interface Made {
  label: string;
  created: string;
  lastSignIn: string | null;
  first?: string;
  last?: string;
}

/** Users straight into the table, with the times (to the microsecond) and names a test needs. */
async function insertUsers(prefix: string, made: Made[]): Promise<Map<string, string>> {
  const rows = await db
    .insertInto("users")
    .values(
      made.map((user) => ({
        email: `${prefix}-${user.label}@coffee.test`,
        password_hash: "not-a-usable-hash",
        first_name: user.first ?? null,
        last_name: user.last ?? null,
        status: "verified" as const,
        created_at: user.created,
        updated_at: user.created,
        last_sign_in_at: user.lastSignIn,
      })),
    )
    .returning(["id", "email"])
    .execute();
  return new Map(rows.map((row) => [row.email.slice(prefix.length + 1, row.email.indexOf("@")), row.id]));
}

async function listed(response: Response): Promise<AdminUser[]> {
  expect(response.status).toBe(200);
  return AdminUserSchema.strict()
    .array()
    .parse(await response.json());
}

function nextPath(response: Response): string | undefined {
  const target = /^<([^>]+)>; rel="next"$/.exec(response.headers.get("Link") ?? "")?.[1];
  return target === undefined ? undefined : `${new URL(target).pathname}${new URL(target).search}`;
}

/** Every page of a list through its Link headers: the labels in order, and the round trips of each page. */
async function walk(query: string, prefix: string): Promise<{ labels: string[]; trips: number[]; totals: (string | null)[] }> {
  const labels: string[] = [];
  const trips: number[] = [];
  const totals: (string | null)[] = [];
  let next: string | undefined = `/users?${query}`;
  while (next !== undefined && trips.length < 10) {
    const path: string = next;
    const { result, roundTrips } = await countRoundTrips((call) => call(path, bearer(adminToken)));
    trips.push(roundTrips);
    totals.push(result.headers.get("X-Total-Count"));
    labels.push(...(await listed(result)).map((user) => user.email.slice(prefix.length + 1, user.email.indexOf("@"))));
    next = nextPath(result);
  }
  return { labels, trips, totals };
}

describe("GET /users in an order", () => {
  // a and b a microsecond apart (one page ends between them), c and d at the same instant (the id decides), e never
  // signed in
  const made: Made[] = [
    { label: "c", created: "2026-03-01T10:00:00.000000Z", lastSignIn: "2026-05-01T09:00:00.000001Z" },
    { label: "a", created: "2026-02-01T10:00:00.000001Z", lastSignIn: "2026-05-02T09:00:00.000000Z" },
    { label: "d", created: "2026-03-01T10:00:00.000000Z", lastSignIn: "2026-05-01T09:00:00.000000Z" },
    { label: "b", created: "2026-02-01T10:00:00.000002Z", lastSignIn: null },
    { label: "e", created: "2026-01-01T10:00:00.000000Z", lastSignIn: "2026-04-01T09:00:00.000000Z" },
  ];
  let prefix: string;

  beforeAll(async () => {
    prefix = uniquePrefix("order");
    await insertUsers(prefix, made);
  });

  it.each<[UserSort, string[]]>([
    ["-created_at", ["d", "c", "b", "a", "e"]],
    ["created_at", ["e", "a", "b", "c", "d"]],
    ["-last_sign_in_at", ["a", "c", "d", "e", "b"]],
    ["last_sign_in_at", ["b", "e", "d", "c", "a"]],
    ["email", ["a", "b", "c", "d", "e"]],
    ["-email", ["e", "d", "c", "b", "a"]],
  ])("%s: every user once, in order, two a page through the Link header, each page one round trip with the count", async (sort, order) => {
    const { labels, trips, totals } = await walk(`email=${prefix}&sort=${sort}&limit=2`, prefix);
    expect(labels).toEqual(order);
    expect(trips).toEqual([1, 1, 1]);
    expect(totals).toEqual(["5", "5", "5"]);
  });

  it("is newest first without a sort", async () => {
    expect((await walk(`email=${prefix}&limit=5`, prefix)).labels).toEqual(["d", "c", "b", "a", "e"]);
  });

  it("refuses a cursor made for another order, or one whose key is not its order's, with 422 naming the cursor", async () => {
    const first = await api(`/users?email=${prefix}&sort=email&limit=2`, bearer(adminToken));
    const cursor = new URL(BASE_URL + (nextPath(first) ?? "")).searchParams.get("cursor") ?? "";
    const other = await expectProblem(
      await api(`/users?email=${prefix}&sort=-email&cursor=${cursor}`, bearer(adminToken)),
      422,
      "validation_failed",
    );
    expect(other.errors?.map((error) => error.field)).toEqual(["cursor"]);
    const forge = (fields: object) => btoa(JSON.stringify(fields)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    for (const fields of [
      { s: "-created_at", k: "yesterday", i: "5" },
      { s: "-created_at", k: null, i: "5" },
      { s: "email", k: null, i: "5" },
      { s: "email", k: "a@b", i: "0" },
      { s: "by-mood", k: "x", i: "5" },
    ]) {
      const sort = fields.s === "by-mood" ? "email" : fields.s;
      const refused = await api(`/users?sort=${sort}&cursor=${forge(fields)}`, bearer(adminToken));
      const problem = await expectProblem(refused, 422, "validation_failed");
      expect(problem.errors?.map((error) => error.field)).toEqual(["cursor"]);
    }
    const sortProblem = await expectProblem(await api("/users?sort=age", bearer(adminToken)), 422, "validation_failed");
    expect(sortProblem.errors?.map((error) => error.field)).toEqual(["sort"]);
  });
});

describe("GET /users?search=", () => {
  let prefix: string;
  let ids: Map<string, string>;
  const search = async (text: string) =>
    (await listed(await api(`/users?search=${encodeURIComponent(text)}&limit=100`, bearer(adminToken)))).map((user) => user.id);

  beforeAll(async () => {
    prefix = uniquePrefix("find");
    ids = await insertUsers(prefix, [
      { label: "ada", created: "2026-01-01T00:00:00Z", lastSignIn: null, first: `Ada${prefix}`, last: "Lovelace" },
      { label: "grace", created: "2026-01-02T00:00:00Z", lastSignIn: null, first: "Grace", last: `Hopper${prefix}` },
      { label: "x_y", created: "2026-01-03T00:00:00Z", lastSignIn: null },
      { label: "xzy", created: "2026-01-04T00:00:00Z", lastSignIn: null },
    ]);
  });

  const id = (label: string) => Number(ids.get(label));

  it("finds a part of the address anywhere in it, a first name, a last name, a whole name, whatever the case", async () => {
    expect(await search(`${prefix.slice(3)}-gra`)).toEqual([id("grace")]);
    expect(await search(`ADA${prefix}`)).toEqual([id("ada")]);
    expect(await search(`hopper${prefix}`)).toEqual([id("grace")]);
    expect(await search(`Ada${prefix} Lovelace`)).toEqual([id("ada")]);
    expect(await search(`${prefix}-`)).toEqual([id("xzy"), id("x_y"), id("grace"), id("ada")]);
  });

  it("finds a user by their id, and takes % and _ as themselves", async () => {
    expect(await search(String(id("grace")))).toContain(id("grace"));
    expect(await search(`${prefix}-x_y`)).toEqual([id("x_y")]);
    expect(await search(`${prefix}-x%`)).toEqual([]);
  });

  it("counts what it finds, combined with the other filters, in the list's one round trip", async () => {
    const { result, roundTrips } = await countRoundTrips((call) =>
      call(`/users?search=${prefix}&status=verified&limit=1`, bearer(adminToken)),
    );
    expect(roundTrips).toBe(1);
    expect((await listed(result)).map((user) => user.id)).toEqual([id("xzy")]);
    expect([result.headers.get("X-Total-Count"), result.headers.get("X-Total-Count-Exact")]).toEqual(["4", "true"]);
    const none = await api(`/users?search=${prefix}&role=admin`, bearer(adminToken));
    expect(await listed(none)).toEqual([]);
    expect(none.headers.get("X-Total-Count")).toBe("0");
  });

  it("is 422 validation_failed for an empty search or one longer than an address", async () => {
    for (const text of ["", "%20%20", "x".repeat(255)]) {
      const problem = await expectProblem(await api(`/users?search=${text}`, bearer(adminToken)), 422, "validation_failed");
      expect(problem.errors?.map((error) => error.field)).toEqual(["search"]);
    }
  });
});

/** A CSV's lines, each split into its fields (quoted fields with commas or quotes read back). */
function parseCsv(text: string): string[][] {
  expect(text.endsWith("\r\n")).toBe(true);
  return text
    .slice(0, -2)
    .split("\r\n")
    .map((line) =>
      [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)]
        .slice(0, -1)
        .map(([, field = ""]) => field.replace(/^"|"$/g, "").replaceAll('""', '"')),
    );
}

describe("GET /users.csv", () => {
  const exportOf = (call: Call, token: string, query: string) => call(`/users.csv?${query}`, bearer(token));

  it("answers every user the filters match, in the list's order, as CSV: a header, then a line each, names defused", async () => {
    const prefix = uniquePrefix("csv");
    await insertUsers(prefix, [
      {
        label: "a",
        created: "2026-01-01T00:00:00Z",
        lastSignIn: "2026-02-01T08:00:00Z",
        first: 'Ada "the first"',
        last: "Lovelace, Countess",
      },
      { label: "b", created: "2026-01-02T00:00:00Z", lastSignIn: null, first: '=HYPERLINK("http://evil.test")', last: "@Hopper" },
      { label: "c", created: "2026-01-03T00:00:00Z", lastSignIn: null },
    ]);
    const { result, roundTrips } = await countRoundTrips((call) => exportOf(call, adminToken, `email=${prefix}&sort=email`));
    expect(result.status).toBe(200);
    expect(result.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(result.headers.get("Content-Disposition")).toMatch(/^attachment; filename="users-\d{4}-\d\d-\d\d\.csv"$/);
    // the export's record, then one batch
    expect(roundTrips).toBe(2);
    const [header, ...lines] = parseCsv(await result.text());
    expect(header).toEqual([
      "id",
      "email",
      "first_name",
      "last_name",
      "status",
      "role",
      "created_at",
      "last_sign_in_at",
      "last_sign_in_client",
      "last_sign_in_address",
      "password",
      "second_factor",
    ]);
    const list = await listed(await api(`/users?email=${prefix}&sort=email`, bearer(adminToken)));
    expect(lines.map((line) => line[0])).toEqual(list.map((user) => String(user.id)));
    expect(lines[0]?.slice(1, 8)).toEqual([
      `${prefix}-a@coffee.test`,
      'Ada "the first"',
      "Lovelace, Countess",
      "verified",
      "user",
      "2026-01-01T00:00:00.000Z",
      "2026-02-01T08:00:00.000Z",
    ]);
    // a spreadsheet shows these as text, never runs them
    expect(lines[1]?.slice(2, 4)).toEqual(['\'=HYPERLINK("http://evil.test")', "'@Hopper"]);
    expect(lines[2]?.slice(2, 12)).toEqual(["", "", "verified", "user", "2026-01-03T00:00:00.000Z", "", "", "", "open", "off"]);
  });

  it("is recorded with its filters, needs a recent sign-in, and is refused to a demoted admin's token", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const exporter = await seededUser("admin");
    const token = (await login(exporter, call)).access_token;
    const exported = await exportOf(call, token, "status=disabled&search=nobody-at-all&sort=-last_sign_in_at");
    expect(exported.status).toBe(200);
    expect(parseCsv(await exported.text())).toHaveLength(1);
    const events = await (await api(`/events?type=users_exported&limit=100`, bearer(adminToken))).json<AuthEvent[]>();
    expect(events.find((event) => event.actor_id === exporter.id)).toMatchObject({
      user_id: null,
      actor_email: exporter.email,
      details: { status: "disabled", search: "nobody-at-all", sort: "-last_sign_in_at" },
    });
    clock.advance(10 * 60 + 1);
    await expectProblem(await exportOf(call, token, ""), 401, "reauthentication_required");
    const fresh = (await login(exporter, call)).access_token;
    await db.updateTable("users").set({ role: "user" }).where("id", "=", String(exporter.id)).execute();
    await expectProblem(await exportOf(call, fresh, ""), 403, "forbidden");
    const user = await seededUser();
    await expectProblem(await exportOf(call, (await login(user, call)).access_token, ""), 403, "forbidden");
    await expectProblem(await exportOf(call, adminToken, "sort=age"), 422, "validation_failed");
  });
});
