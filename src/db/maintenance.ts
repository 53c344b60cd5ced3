import type { Db } from "./client.ts";

export interface PurgeCutoffs {
  now: Date;
  /** Users created before this who never verified go. */
  unverifiedCreatedBefore: Date;
  /** Dead codes are kept a little while, so a late try hears "expired" rather than "unknown". */
  codesDeadBefore: Date;
  /** Delivered mail (bodies already scrubbed) is kept this long as a record. */
  sentMailBefore: Date;
  /** Rows per table per run, so one run stays short however much piled up. */
  batchSize: number;
}

export interface PurgeCounts {
  refresh_tokens: number;
  revoked_tokens: number;
  one_time_codes: number;
  unverified_users: number;
  sent_mail: number;
}

/**
 * Deletes what has expired, in one statement of bounded batches. Two runs at once are safe: a row one
 * deletes, the other waits for and then skips.
 */
export async function purgeExpired(db: Db, cutoffs: PurgeCutoffs): Promise<PurgeCounts> {
  const { now, batchSize } = cutoffs;
  const row = await db
    .with("refresh", (q) =>
      q
        .deleteFrom("refresh_tokens")
        .where("token_hash", "in", q.selectFrom("refresh_tokens").select("token_hash").where("expires_at", "<=", now).limit(batchSize))
        .returning("token_hash"),
    )
    .with("revoked", (q) =>
      q
        .deleteFrom("revoked_tokens")
        .where("token_id", "in", q.selectFrom("revoked_tokens").select("token_id").where("expires_at", "<=", now).limit(batchSize))
        .returning("token_id"),
    )
    .with("codes", (q) =>
      q
        .deleteFrom("one_time_codes")
        .where(
          "id",
          "in",
          q
            .selectFrom("one_time_codes")
            .select("id")
            .where((eb) => eb.or([eb("consumed_at", "is not", null), eb("expires_at", "<=", cutoffs.codesDeadBefore)]))
            .limit(batchSize),
        )
        .returning("id"),
    )
    .with("stale_users", (q) =>
      q
        .deleteFrom("users")
        .where(
          "id",
          "in",
          q
            .selectFrom("users")
            .select("id")
            .where("verified_at", "is", null)
            .where("status", "=", "unverified")
            .where("created_at", "<=", cutoffs.unverifiedCreatedBefore)
            .limit(batchSize),
        )
        .returning("id"),
    )
    .with("sent", (q) =>
      q
        .deleteFrom("email_outbox")
        .where("id", "in", q.selectFrom("email_outbox").select("id").where("sent_at", "<=", cutoffs.sentMailBefore).limit(batchSize))
        .returning("id"),
    )
    .selectNoFrom((eb) => [
      eb.selectFrom("refresh").select((eb) => eb.fn.countAll<string>().as("n")).as("refresh_tokens"),
      eb.selectFrom("revoked").select((eb) => eb.fn.countAll<string>().as("n")).as("revoked_tokens"),
      eb.selectFrom("codes").select((eb) => eb.fn.countAll<string>().as("n")).as("one_time_codes"),
      eb.selectFrom("stale_users").select((eb) => eb.fn.countAll<string>().as("n")).as("unverified_users"),
      eb.selectFrom("sent").select((eb) => eb.fn.countAll<string>().as("n")).as("sent_mail"),
    ])
    .executeTakeFirstOrThrow();
  return {
    refresh_tokens: Number(row.refresh_tokens),
    revoked_tokens: Number(row.revoked_tokens),
    one_time_codes: Number(row.one_time_codes),
    unverified_users: Number(row.unverified_users),
    sent_mail: Number(row.sent_mail),
  };
}
