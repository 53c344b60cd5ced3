// `npm run users -- import`: the old service's users table, copied into this schema through the same
// database `npm run users -- create` writes to. Logging in with an imported password: test/worker/users-import.test.ts.
import { fileURLToPath } from "node:url";
import { hash as bcryptHash } from "bcryptjs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openPool } from "../../tools/postgres/pool.ts";
import { startNode } from "./support/child-process.ts";
import { neonClient } from "./support/neon-client.ts";
import { openTestDatabase, type TestDatabase } from "./support/test-database.ts";
import { startTestServices, type TestServices } from "./support/test-services.ts";

const USERS = fileURLToPath(new URL("../../tools/cli/users.ts", import.meta.url));
const MIGRATIONS = fileURLToPath(new URL("../../migrations", import.meta.url));

// The FastAPI service's table, as SQLAlchemy made it; without updated_at, which the import must do without.
const OLD_SCHEMA = `
  create type user_status as enum ('unverified', 'verified');
  create type user_role as enum ('user', 'admin');
  create table users (
    id         bigserial primary key,
    email      varchar(255) not null unique,
    password   varchar(255) not null,
    first_name varchar(50),
    last_name  varchar(50),
    status     user_status not null default 'unverified',
    role       user_role not null default 'user',
    created_at timestamp not null default now()
  )`;

interface OldRow {
  id: number;
  email: string;
  password: string;
  first_name?: string;
  last_name?: string;
  status: "unverified" | "verified";
  role?: "user" | "admin";
}

let target: TestServices;
let old: TestDatabase;
let hashes: { ada: string; grace: string; linus: string };

async function fillOldDatabase(rows: OldRow[]): Promise<void> {
  const pool = openPool({ connectionString: old.url, max: 1 });
  try {
    await pool.query(OLD_SCHEMA);
    for (const row of rows) {
      await pool.query(
        "insert into users (id, email, password, first_name, last_name, status, role, created_at) values ($1, $2, $3, $4, $5, $6, $7, '2021-03-04 05:06:07')",
        [row.id, row.email, row.password, row.first_name ?? null, row.last_name ?? null, row.status, row.role ?? "user"],
      );
    }
  } finally {
    await pool.end();
  }
}

beforeAll(async () => {
  [target, old] = await Promise.all([startTestServices(MIGRATIONS), openTestDatabase()]);
  // real bcrypt hashes, as passlib writes them, at the lowest cost for speed
  const [ada, grace, linus, other] = await Promise.all(
    ["ada's old password", "grace's old password", "linus's old password", "another"].map((password) => bcryptHash(password, 4)),
  );
  if (!ada || !grace || !linus || !other) throw new Error("no hashes");
  hashes = { ada, grace, linus };
  await fillOldDatabase([
    { id: 3, email: " Ada@Example.COM ", password: ada, first_name: "Ada", last_name: "Lovelace", status: "verified", role: "admin" },
    { id: 7, email: "grace@example.com", password: grace, first_name: "Grace", last_name: "", status: "verified" },
    // one address once normalised: whose it is, the import cannot tell
    { id: 12, email: "Dup@Example.com", password: other, status: "verified" },
    { id: 15, email: "dup@example.com", password: other, status: "verified" },
    { id: 20, email: "not an email", password: other, status: "verified" },
    { id: 21, email: "linus@example.com", password: linus, status: "unverified" },
    // the target's account #1 has id 1 and the address taken@example.com
    { id: 1, email: "first@example.com", password: other, status: "verified" },
    { id: 30, email: "TAKEN@example.com", password: other, status: "verified" },
    // the largest id: invalid, yet new accounts must start after it, so it can still be imported once fixed
    { id: 50, email: "plain@example.com", password: "plain text", status: "verified" },
  ]);
  await neonClient(target.services)`
    insert into users (email, password_hash, status, created_at, updated_at) values ('taken@example.com', 'x', 'verified', now(), now())`;
});

afterAll(async () => {
  await Promise.all([target?.stop(), old?.close()]);
});

function users(args: string[]) {
  const inherited = { ...process.env };
  delete inherited.DATABASE_URL;
  return startNode(USERS, args, inherited).finished;
}

/** Everything an import may touch in the target. */
async function targetState() {
  const sql = neonClient(target.services);
  const [rows, events, identity] = await Promise.all([
    sql`select id::text, email, password_hash, first_name, last_name, status, role, verified_at, created_at, updated_at from users order by users.id`,
    sql`select user_id::text, type, details from auth_events order by auth_events.user_id, auth_events.id`,
    sql`select pg_sequence_last_value(pg_get_serial_sequence('users', 'id')::regclass)::text as last`,
  ]);
  return { rows, events, identity: identity[0]?.last };
}

const LEFT_OUT = [
  "  collisions, none of them imported (one address once normalised): 1 address, 2 users",
  "    dup@example.com: #12, #15",
  "  invalid, not imported: 2",
  "    #20 email: Not a valid email address",
  "    #50 password: Not a bcrypt hash the API can check",
  "  taken in the target by another account, not imported: 2",
  "    #1 <first@example.com>",
  "    #30 <taken@example.com>",
  "  never verified: 1; the cron deletes accounts still unverified 48 h after they were made (from their old creation time); their owners can sign up again, which takes over a never-verified address",
  // the hashes here are of cost 4, for speed
  "  importable rows whose bcrypt cost is not 12: 5; their logins take a different time from everyone else's until the first",
];

it("a dry run says what the import would do, and writes nothing", async () => {
  const before = await targetState();
  const run = await users(["import", "--from", old.url, "--dry-run", "--services-url", target.services.url]);
  expect(run.code, run.stderr).toBe(0);
  const from = new URL(old.url);
  expect(run.stdout.trimEnd().split("\n")).toEqual([
    `Dry run, nothing written: would import 3 users of the 9 read from ${from.host}${from.pathname} into local services at ${new URL(target.services.url).host}, ids kept; new accounts would start after #50.`,
    "  imported before (left as they are; one deleted since stays deleted): 0",
    ...LEFT_OUT,
  ]);
  expect(await targetState()).toEqual(before);
});

it("imports the rest with their ids and bcrypt hashes, emails normalised, and moves the identity past the old ids", async () => {
  const run = await users(["import", "--from", old.url, "--database-url", target.database.url]);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toMatch(
    /^Imported 3 users of the 9 read from .* ids kept; new accounts now start after #50\.\n {2}imported before \(left as they are; one deleted since stays deleted\): 0\n/,
  );
  expect(run.stdout.trimEnd().split("\n").slice(2)).toEqual(LEFT_OUT);
  // the progress bar counts the rows that went to the target, taken ones too
  expect(run.stderr).toMatch(/\] 5 \/ 5 users, /);

  const { rows, events } = await targetState();
  // naive timestamps of the old table are UTC
  const created = new Date("2021-03-04T05:06:07Z");
  const imported = { verified_at: created, created_at: created, updated_at: created };
  expect(rows).toEqual([
    expect.objectContaining({ id: "1", email: "taken@example.com" }),
    {
      id: "3",
      email: "ada@example.com",
      password_hash: hashes.ada,
      first_name: "Ada",
      last_name: "Lovelace",
      status: "verified",
      role: "admin",
      ...imported,
    },
    {
      id: "7",
      email: "grace@example.com",
      password_hash: hashes.grace,
      first_name: "Grace",
      last_name: null,
      status: "verified",
      role: "user",
      ...imported,
    },
    {
      id: "21",
      email: "linus@example.com",
      password_hash: hashes.linus,
      first_name: null,
      last_name: null,
      status: "unverified",
      role: "user",
      ...imported,
      verified_at: null,
    },
  ]);
  expect(events).toEqual(["3", "7", "21"].map((id) => ({ user_id: id, type: "signed_up", details: { by: "import" } })));

  const signup = await users([
    "create",
    "--email",
    "newcomer@example.com",
    "--password",
    "a new passphrase",
    "--services-url",
    target.services.url,
  ]);
  expect(signup).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Created user #51 /) });
});

it("run again, changes nothing and says so", async () => {
  const before = await targetState();
  const run = await users(["import", "--from", old.url, "--services-url", target.services.url]);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout.trimEnd().split("\n")).toEqual([
    expect.stringMatching(
      /^Nothing to import: every importable user read from .* was imported into local services at .* before; nothing changed\.$/,
    ),
    "  imported before (left as they are; one deleted since stays deleted): 3",
    ...LEFT_OUT,
  ]);
  expect(await targetState()).toEqual(before);
});

it("run again after an imported user was deleted, never brings them back", async () => {
  await neonClient(target.services)`delete from users where id = 7`;
  const before = await targetState();
  const run = await users(["import", "--from", old.url, "--services-url", target.services.url]);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout.trimEnd().split("\n")[1]).toBe("  imported before (left as they are; one deleted since stays deleted): 3");
  expect(await targetState()).toEqual(before);
  expect(before.rows.map((row) => row.id)).not.toContain("7");
});

it("refuses an import without --from, and an old database without a users table, without a stack trace", async () => {
  const missing = await users(["import", "--services-url", target.services.url]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/^usage: [^]*users -- import --from OLD_DATABASE_URL/);
  const empty = await openTestDatabase();
  try {
    const run = await users(["import", "--from", empty.url, "--services-url", target.services.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^Could not read the old users from .*: the old database has no users table\n$/);
  } finally {
    await empty.close();
  }
});
