// The cron's purge: what expired goes, a bounded batch per table, all tables in one statement.
import { expressionBuilder } from "kysely";
import type { Db } from "./client.ts";
import { cte, QueryRows, tables, withSteps } from "./parts.ts";

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
  /** A run of wrong code guesses untouched since this is forgotten (a year: the odds in docs/SECURITY.md count it). */
  guessRunsKeptSince: Date;
  /** A device not signed in from since this is forgotten. */
  devicesUnusedSince: Date;
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
  "code_failures",
  "mfa_challenges",
  "identity_sign_ins",
  "identity_links",
  "passkey_challenges",
  "devices",
  "unverified_users",
  "old_mail",
  "mail_died",
  "events",
] as const;

type Purged = (typeof PURGED)[number];

export type PurgeCounts = Record<Purged, number>;

export function nothingPurged(): PurgeCounts {
  return {
    refresh_tokens: 0,
    sessions: 0,
    revoked_tokens: 0,
    one_time_codes: 0,
    code_attempts: 0,
    code_failures: 0,
    mfa_challenges: 0,
    identity_sign_ins: 0,
    identity_links: 0,
    passkey_challenges: 0,
    devices: 0,
    unverified_users: 0,
    old_mail: 0,
    mail_died: 0,
    events: 0,
  };
}

/** Each purge is a common table expression named after what it counts, prefixed so that no name shadows a table. */
function purgedBy<Row extends { id: unknown }>(name: Purged) {
  return cte<Row>()(`purged_${name}` as const);
}

/** The rows of a table of single-use secrets (kept by their hash) whose time is over, in the order of its expiry index. */
function expiredSecrets(
  table: "mfa_challenges" | "identity_sign_ins" | "identity_links" | "passkey_challenges",
  { now, batchSize }: PurgeCutoffs,
) {
  return new QueryRows(
    tables
      .deleteFrom(table)
      .where(
        "token_hash",
        "in",
        tables.selectFrom(table).select("token_hash").where("expires_at", "<=", now).orderBy("expires_at").limit(batchSize),
      )
      .returning("token_hash as id"),
  );
}

/** The deleting (or marking) query of each purge, as rows with an `id`, at most `batchSize` of them. */
const purges: Record<Purged, (cutoffs: PurgeCutoffs) => QueryRows<{ id: unknown }>> = {
  // in the order of the index: a plain scan would pass every row purged before or still live, and each
  // batch would cost more than the last (measured at a million tokens, docs/BENCHMARKS.md)
  refresh_tokens: ({ now, batchSize }) =>
    new QueryRows(
      tables
        .deleteFrom("refresh_tokens")
        .where(
          "token_hash",
          "in",
          tables.selectFrom("refresh_tokens").select("token_hash").where("expires_at", "<=", now).orderBy("expires_at").limit(batchSize),
        )
        .returning(["token_hash as id", "session_id"]),
    ),
  // a session goes with its last refresh token: of the sessions whose tokens this batch purges, those with
  // none left alive (so the batch costs the same however many sessions there are)
  sessions: ({ now }) =>
    new QueryRows(
      tables
        .deleteFrom("sessions")
        .where("id", "in", purgedBy<{ id: unknown; session_id: string }>("refresh_tokens").from().select("session_id"))
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
    ),
  revoked_tokens: ({ now, batchSize }) =>
    new QueryRows(
      tables
        .deleteFrom("revoked_tokens")
        .where(
          "token_id",
          "in",
          tables.selectFrom("revoked_tokens").select("token_id").where("expires_at", "<=", now).orderBy("expires_at").limit(batchSize),
        )
        .returning("token_id as id"),
    ),
  one_time_codes: ({ codesDeadBefore, batchSize }) =>
    new QueryRows(
      tables
        .deleteFrom("one_time_codes")
        .where(
          "id",
          "in",
          tables
            .selectFrom("one_time_codes")
            .select("id")
            .where((eb) => eb.or([eb("consumed_at", "is not", null), eb("expires_at", "<=", codesDeadBefore)]))
            .limit(batchSize),
        )
        .returning("id"),
    ),
  code_attempts: ({ now, batchSize }) =>
    new QueryRows(
      tables
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
        .returning("address as id"),
    ),
  // a run ended by a right guess is kept a day, for the record; an unfinished one a year, so waiting out
  // the purge buys an attacker no fresh guesses within the year
  code_failures: ({ codesDeadBefore, guessRunsKeptSince, batchSize }) =>
    new QueryRows(
      tables
        .deleteFrom("code_failures")
        .where(({ eb, refTuple, selectFrom }) =>
          eb(
            refTuple("address", "scope"),
            "in",
            selectFrom("code_failures")
              .select(["address", "scope"])
              .where((eb) =>
                eb.or([
                  eb.and([eb("failures", "=", 0), eb("last_failure_at", "<", codesDeadBefore)]),
                  eb("last_failure_at", "<", guessRunsKeptSince),
                ]),
              )
              .limit(batchSize)
              .$asTuple("address", "scope"),
          ),
        )
        .returning("address as id"),
    ),
  unverified_users: ({ unverifiedCreatedBefore, batchSize }) =>
    new QueryRows(
      tables
        .deleteFrom("users")
        .where(
          "id",
          "in",
          tables
            .selectFrom("users")
            .select("id")
            .where("verified_at", "is", null)
            .where("status", "=", "unverified")
            .where("created_at", "<=", unverifiedCreatedBefore)
            .orderBy("created_at")
            .limit(batchSize),
        )
        .returning("id"),
    ),
  // a login's challenge is spent or dead five minutes after its password was checked
  mfa_challenges: (cutoffs) => expiredSecrets("mfa_challenges", cutoffs),
  // a provider's sign-in code is exchanged within a minute, a link intent used within ten
  identity_sign_ins: (cutoffs) => expiredSecrets("identity_sign_ins", cutoffs),
  identity_links: (cutoffs) => expiredSecrets("identity_links", cutoffs),
  // a passkey's challenge is answered within five minutes
  passkey_challenges: (cutoffs) => expiredSecrets("passkey_challenges", cutoffs),
  // its token then opens nothing known: the next sign-in on it is a new device's
  devices: ({ devicesUnusedSince, batchSize }) =>
    new QueryRows(
      tables
        .deleteFrom("devices")
        .where(
          "id",
          "in",
          tables
            .selectFrom("devices")
            .select("id")
            .where("last_sign_in_at", "<", devicesUnusedSince)
            .orderBy("last_sign_in_at")
            .limit(batchSize),
        )
        .returning("id"),
    ),
  old_mail: ({ mailKeptSince, batchSize }) =>
    new QueryRows(
      tables
        .deleteFrom("email_outbox")
        .where(
          "id",
          "in",
          tables
            .selectFrom("email_outbox")
            .select("id")
            .where((eb) => eb.or([eb("sent_at", "<=", mailKeptSince), eb("dead_at", "<=", mailKeptSince)]))
            .limit(batchSize),
        )
        .returning("id"),
    ),
  // past its expiry, unsent mail is pointless: it dies, bodies scrubbed
  mail_died: ({ now, batchSize }) =>
    new QueryRows(
      tables
        .updateTable("email_outbox")
        .set({ dead_at: now, text_body: "", html_body: "" })
        .where(
          "id",
          "in",
          tables
            .selectFrom("email_outbox")
            .select("id")
            .where("sent_at", "is", null)
            .where("dead_at", "is", null)
            .where("expires_at", "<=", now)
            .limit(batchSize),
        )
        .returning("id"),
    ),
  events: ({ eventsKeptSince, batchSize }) =>
    new QueryRows(
      tables
        .deleteFrom("auth_events")
        .where(
          "id",
          "in",
          tables.selectFrom("auth_events").select("id").where("created_at", "<", eventsKeptSince).orderBy("created_at").limit(batchSize),
        )
        .returning("id"),
    ),
};

/** How many rows a purge took, in SQL. */
function countOf(name: Purged) {
  return purgedBy(name)
    .from()
    .select((eb) => eb.fn.countAll<string>().as("n"));
}

/**
 * Deletes up to `batchSize` expired rows of each table, and marks up to as many expired unsent messages
 * dead, in one statement. Two runs at once are safe: a row one deletes, the other waits for and then
 * skips. A count equal to `batchSize` means there may be more.
 */
export async function purgeExpired(db: Db, cutoffs: PurgeCutoffs): Promise<PurgeCounts> {
  const statement = withSteps(db, ...PURGED.map((name) => purgedBy(name).as(() => purges[name](cutoffs))));
  const eb = expressionBuilder<object, never>();
  const row = await statement
    .selectNoFrom(PURGED.map((name) => eb.selectFrom(countOf(name).as("c")).select("c.n").as(name)))
    .executeTakeFirstOrThrow();
  const counts = nothingPurged();
  for (const name of PURGED) counts[name] = Number(row[name]);
  return counts;
}
