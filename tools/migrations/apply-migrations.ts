import type { MigrationExecutor, MigrationSession } from "./executor.ts";
import { MigrationError } from "./migration-error.ts";
import { readMigrationFiles, type MigrationFile } from "./migration-files.ts";

// One lock for every runner on the database, held until the transaction ends, so two runners started
// at once take turns and the second finds the first one's work recorded.
const TAKE_LOCK = "select pg_advisory_xact_lock(hashtext('schema_migrations'))";

const CREATE_TABLE = `create table if not exists schema_migrations (
  name text primary key,
  checksum text not null,
  applied_at timestamptz not null default now()
)`;

/**
 * Applies the folder's pending migrations in order, each in a transaction of its own together with its
 * record in schema_migrations, and returns the names applied. Stops at the first failure (which rolls
 * that file back entirely). Applies nothing while an applied file has changed since. Files hold no
 * BEGIN/COMMIT of their own: the runner's transaction is what makes each one all-or-nothing.
 */
export async function applyMigrations(executor: MigrationExecutor, migrationsDir: string): Promise<string[]> {
  const files = await readMigrationFiles(migrationsDir);
  const applied: string[] = [];
  for (;;) {
    const next = await executor.inTransaction((session) => applyNext(session, files));
    if (next === undefined) return applied;
    applied.push(next);
  }
}

/** Applies the first file not yet recorded and returns its name, or undefined when none is left. */
async function applyNext(session: MigrationSession, files: MigrationFile[]): Promise<string | undefined> {
  await session.query(TAKE_LOCK);
  await session.runScript(CREATE_TABLE);
  const recorded = await recordedChecksums(session);
  for (const file of files) {
    const checksum = recorded.get(file.name);
    if (checksum !== undefined && checksum !== file.checksum) {
      throw new MigrationError(
        `${file.name} has changed since it was applied (checksum ${checksum} then, ${file.checksum} now); ` +
          "put the change in a new migration instead",
      );
    }
  }
  const pending = files.find((file) => !recorded.has(file.name));
  if (pending === undefined) return undefined;
  try {
    await session.runScript(pending.sql);
  } catch (error) {
    throw new MigrationError(`${pending.name} failed${lineOfError(error, pending.sql)}: ${messageOf(error)}`);
  }
  await session.query("insert into schema_migrations (name, checksum) values ($1, $2)", [pending.name, pending.checksum]);
  return pending.name;
}

async function recordedChecksums(session: MigrationSession): Promise<Map<string, string>> {
  const rows = await session.query("select name, checksum from schema_migrations");
  return new Map(rows.map((row) => [String(row.name), String(row.checksum)]));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** " at line N" when Postgres reported where in the script the error is (syntax errors do). */
function lineOfError(error: unknown, script: string): string {
  if (!(error instanceof Error && "position" in error && typeof error.position === "string")) return "";
  const offset = Number(error.position) - 1;
  return ` at line ${script.slice(0, offset).split("\n").length}`;
}
