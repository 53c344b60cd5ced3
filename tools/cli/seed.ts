// `npm run db:seed -- --database-url URL [--users N]`: fills a Postgres server with N verified users
// (default 1,000,000), each with a session and a refresh token, half of those expired, to measure the
// API at scale.
import { parseFlags, wholeNumberFlag } from "../command-line.ts";
import { applyMigrations } from "../migrations/apply-migrations.ts";
import { postgresMigrationExecutor } from "../migrations/postgres-executor.ts";
import { openPool } from "../postgres/pool.ts";
import { defaultMigrationsDir } from "../repo-paths.ts";
import { progressBar, seedUsers } from "../seed/seed-users.ts";

const USAGE = `npm run db:seed -- --database-url URL [flags]: a Postgres filled for measuring at scale
  --database-url URL   the database (migrated first); the seeded users are added to what is there
  --users N            users to add (default 1000000), verified, with one session each whose
                       refresh token has expired for every second user
  --password TEXT      their password (default "seeded passphrase, long enough")
  --chunk N            users per statement (default 100000)
Seeded addresses are seed-<n>@seed.test, numbered on from the last seeded one.`;

const flags = parseFlags(
  {
    "database-url": { type: "string" },
    users: { type: "string", default: "1000000" },
    password: { type: "string", default: "seeded passphrase, long enough" },
    chunk: { type: "string", default: "100000" },
  },
  USAGE,
);

const databaseUrl = flags["database-url"];
if (!databaseUrl) {
  console.error(`--database-url is required\n\n${USAGE}`);
  process.exit(2);
}
const users = wholeNumberFlag(flags.users, "users", USAGE);
const chunk = wholeNumberFlag(flags.chunk, "chunk", USAGE);

const pool = openPool({ connectionString: databaseUrl, max: 1 });
try {
  const applied = await applyMigrations(postgresMigrationExecutor(pool), defaultMigrationsDir);
  if (applied.length > 0) console.log(`Applied ${applied.join(", ")}`);
  const seeded = await seedUsers(pool, { users, chunk, password: flags.password, progress: progressBar(users, "users") });
  console.log(
    `Seeded ${users.toLocaleString("en")} users (seed-${seeded.first}..seed-${seeded.last}@seed.test), each with a session and a refresh token (half expired), in ${seeded.seconds.toFixed(1)} s.`,
  );
} catch (error) {
  process.stderr.write("\n");
  console.error(`db:seed failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
