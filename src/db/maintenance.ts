import { sql } from "kysely";
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
  const { now, batchSize: n } = cutoffs;
  const { rows } = await sql<Record<keyof PurgeCounts, string>>`
    with
    refresh as (delete from refresh_tokens where token_hash in (
      select token_hash from refresh_tokens where expires_at <= ${now} limit ${n}) returning 1),
    revoked as (delete from revoked_tokens where token_id in (
      select token_id from revoked_tokens where expires_at <= ${now} limit ${n}) returning 1),
    codes as (delete from one_time_codes where id in (
      select id from one_time_codes
      where consumed_at is not null or expires_at <= ${cutoffs.codesDeadBefore} limit ${n}) returning 1),
    stale_users as (delete from users where id in (
      select id from users
      where verified_at is null and status = 'unverified' and created_at <= ${cutoffs.unverifiedCreatedBefore}
      limit ${n}) returning 1),
    sent as (delete from email_outbox where id in (
      select id from email_outbox where sent_at <= ${cutoffs.sentMailBefore} limit ${n}) returning 1)
    select
      (select count(*) from refresh) as refresh_tokens,
      (select count(*) from revoked) as revoked_tokens,
      (select count(*) from codes) as one_time_codes,
      (select count(*) from stale_users) as unverified_users,
      (select count(*) from sent) as sent_mail`.execute(db);
  const row = rows[0];
  return {
    refresh_tokens: Number(row?.refresh_tokens ?? 0),
    revoked_tokens: Number(row?.revoked_tokens ?? 0),
    one_time_codes: Number(row?.one_time_codes ?? 0),
    unverified_users: Number(row?.unverified_users ?? 0),
    sent_mail: Number(row?.sent_mail ?? 0),
  };
}
