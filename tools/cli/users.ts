// `npm run users -- create --email … --password … [--role admin] [--first-name …] [--last-name …]`
// Creates a verified user: against the running local services by default, or straight into the
// Postgres named by --database-url (or by DATABASE_URL when it is not this machine), Neon included.
// The arguments pass the same schemas as the API's signup, so both accept exactly the same values.
//
// `npm run users -- import --from URL [--dry-run]`: copies the old service's users (ids, bcrypt hashes)
// into the same database `create` writes to; see tools/import/.
import { parseArgs } from "node:util";
import { Kysely, PostgresDialect } from "kysely";
import { openPool } from "../postgres/pool.ts";
import { z } from "zod";
import { hashPassword } from "../../src/auth/passwords.ts";
import { type Db, getDb } from "../../src/db/client.ts";
import type { DB } from "../../src/db/schema.ts";
import { insertUser } from "../../src/db/users.ts";
import { EmailSchema, NameSchema, NewPasswordSchema, UserRoleSchema } from "../../src/schemas/user.ts";
import { directDatabaseUrl } from "../database-url.ts";
import { readOldUsers } from "../import/old-users.ts";
import { type OldUser, planImport } from "../import/plan.ts";
import { summary } from "../import/summary.ts";
import { identityLast, moveIdentityPast, writeUsers } from "../import/write.ts";
import { progressBar } from "../seed/seed-users.ts";

const USAGE = `usage: npm run users -- create --email EMAIL --password PASSWORD [--role user|admin]
                        [--first-name NAME] [--last-name NAME] [--database-url URL]
       npm run users -- import --from OLD_DATABASE_URL [--dry-run] [--database-url URL]
         copies the old service's users (ids and bcrypt hashes kept, emails normalised); again, it changes
         nothing; --dry-run says what it would do and writes nothing`;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    email: { type: "string" },
    password: { type: "string" },
    role: { type: "string", default: "user" },
    "first-name": { type: "string" },
    "last-name": { type: "string" },
    from: { type: "string" },
    "dry-run": { type: "boolean", default: false },
    "database-url": { type: "string" },
    "services-url": { type: "string", default: "http://127.0.0.1:8788" },
  },
});

/** The database `create` and `import` write to; `timeoutMs` bounds each statement through the local services. */
function openDatabase(timeoutMs?: number): { db: Db; where: string } {
  const databaseUrl = directDatabaseUrl(values["database-url"], process.env.DATABASE_URL);
  if (databaseUrl) {
    const pool = openPool({ connectionString: databaseUrl, max: 1 });
    return { db: new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }), where: new URL(databaseUrl).host };
  }
  // the same driver and endpoint the Worker uses in development
  const services = new URL(values["services-url"]);
  return { db: getDb(`postgres://cli:cli@${services.host}/coffee`, timeoutMs), where: `local services at ${services.host}` };
}

const NewUserArguments = z.object({
  "--email": EmailSchema,
  "--password": NewPasswordSchema,
  "--role": UserRoleSchema,
  "--first-name": NameSchema.optional(),
  "--last-name": NameSchema.optional(),
});

async function create(): Promise<void> {
  const parsed = NewUserArguments.safeParse({
    "--email": values.email ?? "",
    "--password": values.password ?? "",
    "--role": values.role,
    "--first-name": values["first-name"],
    "--last-name": values["last-name"],
  });
  if (!parsed.success) {
    fail(`${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("\n")}\n${USAGE}`);
  }
  const args = parsed.data;
  const { db, where } = openDatabase();
  try {
    const created = await insertUser(db, {
      email: args["--email"],
      passwordHash: await hashPassword(args["--password"]),
      firstName: args["--first-name"] ?? null,
      lastName: args["--last-name"] ?? null,
      status: "verified",
      role: args["--role"],
      now: new Date(),
    });
    if (!created) fail(`A user with the email ${args["--email"]} already exists.`);
    console.log(`Created ${created.role} #${created.id} <${created.email}> (verified) in ${where}.`);
  } catch (error) {
    fail(`Could not create the user in ${where}: ${messageOf(error)}`);
  } finally {
    await db.destroy();
  }
}

/** A statement of 10,000 users takes about half a second here, longer over HTTP from afar; the default 5 s is the API's. */
const IMPORT_STATEMENT_TIMEOUT_MS = 120_000;

async function readOldService(from: string, fromWhere: string): Promise<OldUser[]> {
  const pool = openPool({ connectionString: from, max: 1 });
  try {
    return await readOldUsers(pool);
  } catch (error) {
    fail(`Could not read the old users from ${fromWhere}: ${messageOf(error)}`);
  } finally {
    await pool.end();
  }
}

function larger(a: string, b: string): string {
  return BigInt(a) > BigInt(b) ? a : b;
}

async function importFromOldService(from: string): Promise<void> {
  const source = new URL(from);
  const fromWhere = `${source.host}${source.pathname}`;
  const plan = planImport(await readOldService(from, fromWhere), new Date());
  const dryRun = values["dry-run"];
  const { db, where } = openDatabase(IMPORT_STATEMENT_TIMEOUT_MS);
  try {
    const before = await identityLast(db);
    let after = before;
    if (plan.largestId !== undefined) {
      // before the first row goes in, so that no signup meanwhile takes an id an old user still has to get
      after = dryRun ? larger(plan.largestId, before) : await moveIdentityPast(db, plan.largestId);
    }
    const progress = plan.users.length > 0 ? progressBar(plan.users.length, "users") : undefined;
    const written = await writeUsers(db, plan.users, { dryRun, progress });
    console.log(summary({ plan, written, dryRun, from: fromWhere, into: where, identity: { before, after } }).join("\n"));
  } catch (error) {
    process.stderr.write("\n");
    fail(`Could not import into ${where}: ${messageOf(error)} (importing again picks up where this stopped)`);
  } finally {
    await db.destroy();
  }
}

const [command] = positionals;
if (command === "create" && values.from === undefined && !values["dry-run"]) {
  await create();
} else if (command === "import" && values.from !== undefined) {
  await importFromOldService(values.from);
} else {
  fail(USAGE);
}
