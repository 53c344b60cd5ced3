// `npm run users -- create --email … --password … [--role admin] [--first-name …] [--last-name …]`
// Creates a verified user: against the running local services by default, or straight into the
// Postgres named by --database-url (or by DATABASE_URL when it is not this machine), Neon included.
// The arguments pass the same schemas as the API's signup, so both accept exactly the same values.
import { parseArgs } from "node:util";
import { Kysely, PostgresDialect } from "kysely";
import { openPool } from "../postgres/pool.ts";
import { z } from "zod";
import { hashPassword } from "../../src/auth/passwords.ts";
import { type Db, getDb } from "../../src/db/client.ts";
import type { DB } from "../../src/db/schema.ts";
import { createUser } from "../../src/db/users.ts";
import { EmailSchema, NameSchema, NewPasswordSchema, UserRoleSchema } from "../../src/schemas/user.ts";
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

const NewUserArguments = z.object({
  "--email": EmailSchema,
  "--password": NewPasswordSchema,
  "--role": UserRoleSchema,
  "--first-name": NameSchema.optional(),
  "--last-name": NameSchema.optional(),
});

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

function openDatabase(): { db: Db; where: string } {
  const databaseUrl = directDatabaseUrl(values["database-url"], process.env.DATABASE_URL);
  if (databaseUrl) {
    const pool = openPool({ connectionString: databaseUrl, max: 1 });
    return { db: new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }), where: new URL(databaseUrl).host };
  }
  // the same driver and endpoint the Worker uses in development
  const services = new URL(values["services-url"]);
  return { db: getDb(`postgres://cli:cli@${services.host}/coffee`), where: `local services at ${services.host}` };
}

const { db, where } = openDatabase();
try {
  const created = await createUser(db, {
    email: args["--email"],
    passwordHash: await hashPassword(args["--password"]),
    firstName: args["--first-name"] ?? null,
    lastName: args["--last-name"] ?? null,
    status: "verified",
    role: args["--role"],
    now: new Date(),
  });
  if (created.outcome !== "created") fail(`A user with the email ${args["--email"]} already exists.`);
  console.log(`Created ${created.user.role} #${created.user.id} <${created.user.email}> (verified) in ${where}.`);
} catch (error) {
  fail(`Could not create the user in ${where}: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await db.destroy();
}
