// Writing planned users into this schema: set-based, a batch per statement, and safe to run again.
import { sql } from "kysely";
import type { Db } from "../../src/db/client.ts";
import { noRowDetails, recordEvents } from "../../src/db/events.ts";
import { partBuilder, type Step, withSteps } from "../../src/db/parts.ts";
import type { ImportedUser } from "./plan.ts";

/** Users per statement: about 2.5 MB of JSON, within the 10 MB Neon's HTTP endpoint (and the local services) take. */
const BATCH_SIZE = 10_000;

export interface Written {
  /** Written, or with `dryRun` would be. */
  imported: number;
  /** An earlier run imported this id: left as it is (its owner may have logged in since), or gone for good if deleted since. */
  alreadyThere: number;
  /** The id or the address belongs to another account of the target: not imported. */
  taken: ImportedUser[];
}

export interface WriteOptions {
  dryRun: boolean;
  /** Called after each batch with the users dealt with so far. */
  progress?: (done: number) => void;
}

const importParts = partBuilder<{ planned: ImportedUser & { there: boolean; in_the_way: boolean }; written: { id: string } }>();

/** The rows of a batch, typed as planned: the JSON's column list says how Postgres reads each value. */
function batchRows(users: ImportedUser[]) {
  return sql<ImportedUser>`(select * from jsonb_to_recordset(${JSON.stringify(users)}::jsonb) as batch(
    id bigint, email text, password_hash text, first_name text, last_name text, status text, role text,
    verified_at timestamptz, created_at timestamptz, updated_at timestamptz))`;
}

/**
 * One batch, with what became of each row. A row is written only when neither its id nor its address is
 * taken (checked against the table as the statement began, and again by ON CONFLICT for a signup racing it);
 * each written one gets its `signed_up` event in the same statement, as `npm run users -- create` does.
 */
function writeBatch(db: Db, users: ImportedUser[], dryRun: boolean) {
  const planned = db
    .with("batch", () => batchRows(users))
    .with("planned", (q) =>
      q
        .selectFrom("batch")
        .selectAll("batch")
        .select((eb) => [
          // an earlier run wrote it: still there, or deleted since (a deleted user never comes back)
          eb.exists(eb.selectFrom("imported_users").select("imported_users.id").whereRef("imported_users.id", "=", "batch.id")).as("there"),
          eb
            .or([
              eb.exists(eb.selectFrom("imported_users").select("imported_users.id").whereRef("imported_users.id", "=", "batch.id")),
              eb.exists(
                eb
                  .selectFrom("users")
                  .select("users.id")
                  .where((eb) => eb.or([eb("users.id", "=", eb.ref("batch.id")), eb("users.email", "=", eb.ref("batch.email"))])),
              ),
            ])
            .as("in_the_way"),
        ]),
    );
  if (dryRun) {
    return planned.selectFrom("planned").select((eb) => ["planned.id", "planned.there", eb.not("planned.in_the_way").as("imported")]);
  }
  const written = planned.with("written", (q) =>
    q
      .insertInto("users")
      .columns(["id", "email", "password_hash", "first_name", "last_name", "status", "role", "verified_at", "created_at", "updated_at"])
      // the ids are the old service's, not the identity's
      .expression(
        sql`overriding system value ${q
          .selectFrom("planned")
          .select(["id", "email", "password_hash", "first_name", "last_name", "status", "role", "verified_at", "created_at", "updated_at"])
          .where("in_the_way", "=", false)}`,
      )
      .onConflict((oc) => oc.doNothing())
      .returning("id"),
  );
  const events = { actorId: null, clientAddress: null, userAgent: null, requestId: null, now: new Date() };
  const recorded: Step = (statement) =>
    statement.with("recorded", (q) =>
      q
        .insertInto("imported_users")
        .columns(["id", "imported_at"])
        .expression(importParts.selectFrom("written").select((eb) => ["id", eb.val(events.now).as("imported_at")]))
        .returning("id"),
    );
  return withSteps(
    written,
    recorded,
    recordEvents(events, {
      type: "signed_up",
      details: { by: "import" },
      rows: () => importParts.selectFrom("written").select(["id as user_id", noRowDetails()]),
    }),
  )
    .selectFrom(
      importParts
        .selectFrom("planned")
        .leftJoin("written", "written.id", "planned.id")
        .select((eb) => ["planned.id", "planned.there", eb("written.id", "is not", null).as("imported")])
        .as("outcome"),
    )
    .selectAll();
}

/** Writes the users (with `dryRun`, only says what writing would do), BATCH_SIZE per statement. */
export async function writeUsers(db: Db, users: ImportedUser[], options: WriteOptions): Promise<Written> {
  const written: Written = { imported: 0, alreadyThere: 0, taken: [] };
  const byId = new Map(users.map((user) => [user.id, user]));
  for (let start = 0; start < users.length; start += BATCH_SIZE) {
    const outcomes = await writeBatch(db, users.slice(start, start + BATCH_SIZE), options.dryRun).execute();
    for (const { id, there, imported } of outcomes) {
      const user = byId.get(id);
      if (imported) written.imported += 1;
      else if (there) written.alreadyThere += 1;
      else if (user) written.taken.push(user);
    }
    options.progress?.(Math.min(start + BATCH_SIZE, users.length));
  }
  return written;
}

const IDENTITY = sql`pg_get_serial_sequence('users', 'id')::regclass`;

/** The last id the users identity handed out, "0" before the first. */
export async function identityLast(db: Db): Promise<string> {
  const { rows } = await sql<{ last: string }>`select coalesce(pg_sequence_last_value(${IDENTITY}), 0)::text as last`.execute(db);
  return rows[0]?.last ?? "0";
}

/**
 * Moves the identity so that new accounts get ids above `id`; never back, and not at all when it is past
 * already (so a second import changes nothing). Returns the last id handed out, as it now stands.
 */
export async function moveIdentityPast(db: Db, id: string): Promise<string> {
  const { rows } = await sql<{ last: string }>`
    select (case when coalesce(pg_sequence_last_value(${IDENTITY}), 0) >= ${id}::bigint
                 then pg_sequence_last_value(${IDENTITY})
                 else setval(${IDENTITY}, ${id}::bigint) end)::text as last`.execute(db);
  return rows[0]?.last ?? id;
}
