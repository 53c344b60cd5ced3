import type { Db } from "./client.ts";

/** One trivial statement: proves the database answers, at the cost of one round trip. */
export async function pingDatabase(db: Db): Promise<void> {
  await db.selectNoFrom((eb) => eb.lit(1).as("one")).execute();
}
