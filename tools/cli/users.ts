// `npm run users -- create --email … --password … [--role admin] [--first-name …] [--last-name …]`
// Creates a verified user: against the running local services by default, or straight into the
// Postgres named by --database-url (or by DATABASE_URL when it is not this machine), Neon included.
import { parseArgs } from "node:util";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../../src/auth/passwords.ts";
import { type Db, getDb } from "../../src/db/client.ts";
import type { Database } from "../../src/db/schema.ts";
import { insertUser } from "../../src/db/users.ts";
import { EmailSchema } from "../../src/routes/openapi-schemas.ts";
import { directDatabaseUrl } from "../database-url.ts";

const USAGE = `usage: npm run users -- create --email EMAIL --password PASSWORD [--role user|admin]
                        [--first-name NAME] [--last-name NAME] [--database-url URL]`;

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    email: { type: "string" },
    password: { type: "string" },
    role: { type: "string", default: "user" },
    "first-name": { type: "string" },
    "last-name": { type: "string" },
    "database-url": { type: "string" },
    "services-url": { type: "string", default: "http://127.0.0.1:8788" },
  },
});

if (positionals[0] !== "create") fail(USAGE);
const email = EmailSchema.safeParse(values.email ?? "");
if (!email.success) fail(`--email: not a valid email address\n${USAGE}`);
const password = values.password ?? "";
if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
  fail(`--password: must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`);
}
const role = values.role;
if (role !== "user" && role !== "admin") fail("--role: must be user or admin");

function openDatabase(): { db: Db; where: string } {
  const databaseUrl = directDatabaseUrl(values["database-url"], process.env.DATABASE_URL);
  if (databaseUrl) {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), where: new URL(databaseUrl).host };
  }
  // the same driver and endpoint the Worker uses in development
  const services = new URL(values["services-url"]);
  return { db: getDb(`postgres://cli:cli@${services.host}/coffee`), where: `local services at ${services.host}` };
}

const { db, where } = openDatabase();
try {
  const created = await insertUser(
    db,
    {
      email: email.data,
      passwordHash: await hashPassword(password),
      firstName: values["first-name"] ?? null,
      lastName: values["last-name"] ?? null,
      status: "verified",
      role,
      now: new Date(),
    },
    undefined,
  );
  if (!created) fail(`A user with the email ${email.data} already exists.`);
  console.log(`Created ${created.user.role} #${created.user.id} <${created.user.email}> (verified) in ${where}.`);
} catch (error) {
  fail(`Could not create the user in ${where}: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await db.destroy();
}
