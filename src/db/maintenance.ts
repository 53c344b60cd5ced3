import type { Db } from "./client.ts";

export interface PurgeCutoffs {
  now: Date;
  /** Users created before this who never verified go. */
  unverifiedCreatedBefore: Date;
  /** Dead codes are kept a little while after they expire, for the record. */
  codesDeadBefore: Date;
  /** Delivered or dead mail (bodies already scrubbed) is kept this long as a record. */
  mailKeptSince: Date;
  /** Audit events older than this go. */
  eventsKeptSince: Date;
  /** Rows per table in one statement, so each statement stays short however much piled up. */
  batchSize: number;
}

/** What a purge counts; `mail_died` is unsent messages past their expiry, marked dead (bodies scrubbed). */
export const PURGED = [
  "refresh_tokens",
  "sessions",
  "revoked_tokens",
  "one_time_codes",
  "code_attempts",
  "unverified_users",
  "old_mail",
  "mail_died",
  "events",
] as const;

export type PurgeCounts = Record<(typeof PURGED)[number], number>;

export function nothingPurged(): PurgeCounts {
  return {
    refresh_tokens: 0,
    sessions: 0,
    revoked_tokens: 0,
    one_time_codes: 0,
    code_attempts: 0,
    unverified_users: 0,
    old_mail: 0,
    mail_died: 0,
    events: 0,
  };
}

/**
 * Deletes up to `batchSize` expired rows of each table, and marks up to as many expired unsent
 * messages dead, in one statement. Two runs at once are safe: a row one deletes, the other waits for
 * and then skips. A count equal to `batchSize` means there may be more.
 */
export async function purgeExpired(db: Db, cutoffs: PurgeCutoffs): Promise<PurgeCounts> {
  const { now, batchSize } = cutoffs;
  const row = await db
    .with("refresh", (q) =>
      q
        .deleteFrom("refresh_tokens")
        .where(
          "token_hash",
          "in",
          // in the order of the index: a plain scan would pass every row purged before or still live, and
          // each batch would cost more than the last (measured at a million tokens, docs/BENCHMARKS.md)
          q.selectFrom("refresh_tokens").select("token_hash").where("expires_at", "<=", now).orderBy("expires_at").limit(batchSize),
        )
        .returning(["token_hash", "session_id"]),
    )
    .with("dead_sessions", (q) =>
      q
        .deleteFrom("sessions")
        // a session goes with its last refresh token: of the sessions whose tokens this batch purges, those
        // with none left alive (so the batch costs the same however many sessions there are)
        .where("id", "in", q.selectFrom("refresh").select("session_id"))
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom("refresh_tokens as t")
                .select("t.session_id")
                .whereRef("t.session_id", "=", "sessions.id")
                .where("t.expires_at", ">", now),
            ),
          ),
        )
        .returning("id"),
    )
    .with("revoked", (q) =>
      q
        .deleteFrom("revoked_tokens")
        .where(
          "token_id",
          "in",
          q.selectFrom("revoked_tokens").select("token_id").where("expires_at", "<=", now).orderBy("expires_at").limit(batchSize),
        )
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
    .with("attempts", (q) =>
      q
        .deleteFrom("code_attempts")
        .where(({ eb, refTuple, selectFrom }) =>
          eb(
            refTuple("address", "scope", "client"),
            "in",
            selectFrom("code_attempts")
              .select(["address", "scope", "client"])
              .where("window_ends_at", "<=", now)
              .orderBy("window_ends_at")
              .limit(batchSize)
              .$asTuple("address", "scope", "client"),
          ),
        )
        .returning("address"),
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
            .orderBy("created_at")
            .limit(batchSize),
        )
        .returning("id"),
    )
    .with("old_mail", (q) =>
      q
        .deleteFrom("email_outbox")
        .where(
          "id",
          "in",
          q
            .selectFrom("email_outbox")
            .select("id")
            .where((eb) => eb.or([eb("sent_at", "<=", cutoffs.mailKeptSince), eb("dead_at", "<=", cutoffs.mailKeptSince)]))
            .limit(batchSize),
        )
        .returning("id"),
    )
    .with("died", (q) =>
      q
        .updateTable("email_outbox")
        .set({ dead_at: now, text_body: "", html_body: "" })
        .where(
          "id",
          "in",
          q
            .selectFrom("email_outbox")
            .select("id")
            .where("sent_at", "is", null)
            .where("dead_at", "is", null)
            .where("expires_at", "<=", now)
            .limit(batchSize),
        )
        .returning("id"),
    )
    .with("old_events", (q) =>
      q
        .deleteFrom("auth_events")
        .where(
          "id",
          "in",
          q.selectFrom("auth_events").select("id").where("created_at", "<", cutoffs.eventsKeptSince).orderBy("created_at").limit(batchSize),
        )
        .returning("id"),
    )
    .selectNoFrom((eb) => [
      eb
        .selectFrom("refresh")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .as("refresh_tokens"),
      eb
        .selectFrom("dead_sessions")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .as("sessions"),
      eb
        .selectFrom("revoked")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .as("revoked_tokens"),
      eb
        .selectFrom("codes")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .as("one_time_codes"),
      eb
        .selectFrom("attempts")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .as("code_attempts"),
      eb
        .selectFrom("stale_users")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .as("unverified_users"),
      eb
        .selectFrom("old_mail")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .as("old_mail"),
      eb
        .selectFrom("died")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .as("mail_died"),
      eb
        .selectFrom("old_events")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .as("events"),
    ])
    .executeTakeFirstOrThrow();
  return {
    refresh_tokens: Number(row.refresh_tokens),
    sessions: Number(row.sessions),
    revoked_tokens: Number(row.revoked_tokens),
    one_time_codes: Number(row.one_time_codes),
    code_attempts: Number(row.code_attempts),
    unverified_users: Number(row.unverified_users),
    old_mail: Number(row.old_mail),
    mail_died: Number(row.mail_died),
    events: Number(row.events),
  } satisfies PurgeCounts;
}
