import { sql } from "kysely";
import type { Db } from "./client.ts";

/** One trivial statement: proves the database answers, at the cost of one round trip. */
export async function pingDatabase(db: Db): Promise<void> {
  // no table is involved, so the builder has nothing to build from
  await sql`select 1`.execute(db);
}
