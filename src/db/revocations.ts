// Ending sessions, in Postgres, in the statement of whatever ends them. One session ends when its refresh
// tokens leave the whitelist and it joins the blacklist (revoked_tokens). Every session of a user ends at
// once when the user's session generation moves on: their tokens and sessions go, and every access token
// of an older generation is refused. The edge's copies are written by src/edge/revocations.ts, which alone
// hands out a SessionEnder.
import {
  type AliasableExpression,
  type Expression,
  type ExpressionBuilder,
  expressionBuilder,
  type OperandExpression,
  type QueryCreator,
  sql,
} from "kysely";
import { jsonArrayFrom, jsonBuildObject } from "kysely/helpers/postgres";
import type { Db } from "./client.ts";
import { cte, QueryRows, type Step, tables, withSteps } from "./parts.ts";
import type { DB } from "./schema.ts";

/** A session that ended by itself: the edge refuses its access tokens by its id. */
export interface EndedSession {
  sessionId: string;
}

/** A user whose every session ended: the edge refuses access tokens of a generation below this one. */
export interface EndedGeneration {
  userId: string;
  generation: number;
}

/** What a statement ended, for the edge to record. */
export interface Endings {
  sessions: EndedSession[];
  generations: EndedGeneration[];
}

export const NOTHING_ENDED: Endings = { sessions: [], generations: [] };

/** Sessions are blacklisted under this prefix and their id: tokens carry their session, not an id of their own. */
const SESSION_TOKEN_PREFIX = "session:";

/** The sessions a statement ended, by their refresh tokens leaving the whitelist. */
const ended = cte<{ session_id: string }>()("ended");
/** The session rows a statement removed. */
const closed = cte<{ id: string; user_id: string }>()("closed");
const blacklisted = cte<{ token_id: string }>()("blacklisted");
/** Users whose every session the statement ended, with their new generation. */
export const advanced = cte<{ id: string; session_generation: number }>()("advanced");

/** What `advanced` holds: users and their new generation. */
export type AdvancedRows = (q: QueryCreator<DB>) => Expression<{ id: string; session_generation: number }>;

/** The blacklist id of a session, in SQL: `session:` and the session's id. */
function blacklistId(sessionId: OperandExpression<string>) {
  const eb = expressionBuilder<object, never>();
  return eb(eb.cast<string>(eb.val(SESSION_TOKEN_PREFIX), "text"), "||", eb.cast<string>(sessionId, "text"));
}

/**
 * The blacklist entry of the session that `sessionId` yields, if that session has ended: a rotation checks
 * it, so a session ended by another statement stays ended.
 */
export function blacklistEntryOf(sessionId: OperandExpression<string>) {
  return tables.selectFrom("revoked_tokens").select("token_id").where("token_id", "=", blacklistId(sessionId));
}

/** The user and session of each session a statement ended, as event rows (`{ session_id }` as their details). */
function closedSessionEvents() {
  return closed.from().select((eb) => ["user_id", jsonBuildObject({ session_id: eb.ref("id") }).as("row_details")]);
}

/**
 * The columns of a user's row that end all their sessions, for a statement that updates the row anyway: the
 * generation moves on, and the cron knows to copy the ending to the edge again.
 */
export function advanceGeneration(eb: ExpressionBuilder<DB, "users">, now: Date) {
  return { session_generation: eb("session_generation", "+", 1), sessions_ended_at: now };
}

/** The users a statement advanced, with their generation: ids as text in JSON, as every id leaves the database. */
function advancedGenerations() {
  return advanced.from().select((eb) => [eb.cast<string>("id", "text").as("id"), "session_generation"]);
}

// A statement that ends sessions answers what it ended as one JSON value, `{sessions, generations}`; the kind it
// did not end is an empty array, which json_build_object takes as a literal (Kysely's helper builds objects of
// subqueries only).
const NO_SESSIONS = sql<[]>`'[]'::json`;

/** The sessions or generations one statement ends: the step that ends them, and what it ended. */
export interface EndingPart {
  step: Step;
  /** What the statement ended, as JSON for its result (read back by `endingsFrom`). */
  ended(): AliasableExpression<EndedJson>;
  closedSessionEvents: typeof closedSessionEvents;
}

/** What `ended` selects. */
export interface EndedJson {
  sessions: { session_id: string }[];
  generations: { id: string; session_generation: number }[];
}

/** Takes part in one statement that ends sessions; only `endingSessions` (src/edge/revocations.ts) makes one. */
export class SessionEnder {
  readonly #now: Date;
  readonly #blacklistUntil: Date;

  /** `blacklistUntil`: when every token a session has now would have expired (a refresh token's lifetime from now). */
  constructor(now: Date, blacklistUntil: Date) {
    this.#now = now;
    this.#blacklistUntil = blacklistUntil;
  }

  /**
   * Ends the sessions `sessionIds` selects: their refresh tokens leave the whitelist, their rows in sessions go
   * (`closed`), and each joins the blacklist for as long as any token of it could be presented.
   */
  endSessions(sessionIds: (q: QueryCreator<DB>) => OperandExpression<string>): EndingPart {
    return {
      step: (statement) =>
        withSteps(
          statement,
          ended.as(
            (q) => new QueryRows(tables.deleteFrom("refresh_tokens").where("session_id", "in", sessionIds(q)).returning("session_id")),
          ),
          closed.as((q) => new QueryRows(tables.deleteFrom("sessions").where("id", "in", sessionIds(q)).returning(["id", "user_id"]))),
          blacklisted.as(() => new QueryRows(this.#blacklist())),
        ),
      ended: () =>
        sql<EndedJson>`json_build_object('sessions', ${jsonArrayFrom(ended.from().select("session_id").distinct())}, 'generations', ${NO_SESSIONS})`,
      closedSessionEvents,
    };
  }

  /**
   * Ends every session of the users `userIds` selects: their generation moves on (so every access token of
   * theirs is refused at the edge, whatever the number of sessions), and their refresh tokens and sessions go.
   * For a statement that does not otherwise update those users' rows (a row is updated once per statement).
   */
  endAllSessionsOf(userIds: (q: QueryCreator<DB>) => OperandExpression<string>): EndingPart {
    const now = this.#now;
    return this.endAllSessionsAdvancedBy(
      (q) =>
        new QueryRows(
          tables
            .updateTable("users")
            .set((eb) => advanceGeneration(eb, now))
            .where("id", "in", userIds(q))
            .returning(["id", "session_generation"]),
        ),
    );
  }

  /**
   * Ends every session of the users whose generation the statement's own update of their row moved on (with
   * `advanceGeneration`): `rows` are those users with their new generation (as `advanced`). Their refresh
   * tokens and sessions go.
   */
  endAllSessionsAdvancedBy(rows: AdvancedRows): EndingPart {
    const advancedIds = () => advanced.from().select("id");
    return {
      step: (statement) =>
        withSteps(
          statement,
          advanced.as(rows),
          ended.as(() => new QueryRows(tables.deleteFrom("refresh_tokens").where("user_id", "in", advancedIds()).returning("session_id"))),
          closed.as(() => new QueryRows(tables.deleteFrom("sessions").where("user_id", "in", advancedIds()).returning(["id", "user_id"]))),
        ),
      ended: () => sql<EndedJson>`json_build_object('sessions', ${NO_SESSIONS}, 'generations', ${jsonArrayFrom(advancedGenerations())})`,
      closedSessionEvents,
    };
  }

  /**
   * For users deleted by the statement (their tokens and sessions go with their row): the edge refuses their
   * access tokens by the generation after their last. `deleted` selects each user's id and generation.
   */
  forgetSessionsOf(deleted: () => AliasableExpression<{ id: string; session_generation: number }>): EndingPart {
    return {
      step: advanced.as(() =>
        tables
          .selectFrom(deleted().as("deleted"))
          .select((eb) => ["deleted.id", eb("deleted.session_generation", "+", 1).as("session_generation")]),
      ),
      ended: () => sql<EndedJson>`json_build_object('sessions', ${NO_SESSIONS}, 'generations', ${jsonArrayFrom(advancedGenerations())})`,
      closedSessionEvents,
    };
  }

  /** Each ended session on the blacklist, or kept there longer if it was already. */
  #blacklist() {
    return tables
      .insertInto("revoked_tokens")
      .columns(["token_id", "expires_at", "revoked_at"])
      .expression((eb) =>
        eb
          // once per session (it had several tokens), distinct before the values join: DISTINCT would read
          // the untyped time parameters as text
          .selectFrom(ended.from().select("session_id").distinct().as("ended"))
          .select((eb) => [
            blacklistId(eb.ref("ended.session_id")).as("token_id"),
            eb.val(this.#blacklistUntil).as("expires_at"),
            eb.val(this.#now).as("revoked_at"),
          ]),
      )
      .onConflict((oc) =>
        oc.column("token_id").doUpdateSet((eb) => ({
          expires_at: eb.fn<Date>("greatest", ["revoked_tokens.expires_at", "excluded.expires_at"]),
        })),
      )
      .returning("token_id");
  }
}

/** Reads back what an `ended` selected (nothing, when the statement did not run). */
export function endingsFrom(ended: EndedJson | undefined): Endings {
  if (!ended) return NOTHING_ENDED;
  return {
    sessions: ended.sessions.map((row) => ({ sessionId: row.session_id })),
    generations: ended.generations.map((row) => ({ userId: row.id, generation: row.session_generation })),
  };
}

/**
 * The sessions blacklisted, and the users whose sessions all ended, since `since`, newest first and at most
 * `limit` of each, in one statement: what the cron copies to the edge again, in case an edge write failed
 * after Postgres committed.
 */
export async function recentEndings(db: Db, window: { since: Date; limit: number }): Promise<Endings> {
  const sessions = tables
    .selectFrom("revoked_tokens")
    .select((eb) => eb.fn<string>("substr", ["token_id", eb.val(SESSION_TOKEN_PREFIX.length + 1)]).as("session_id"))
    .where("token_id", "like", `${SESSION_TOKEN_PREFIX}%`)
    .where("revoked_at", ">", window.since)
    .orderBy("revoked_at", "desc")
    .limit(window.limit);
  const generations = tables
    .selectFrom("users")
    .select((eb) => [eb.cast<string>("id", "text").as("id"), "session_generation"])
    .where("sessions_ended_at", ">", window.since)
    .orderBy("sessions_ended_at", "desc")
    .limit(window.limit);
  const row = await db
    .selectNoFrom(() => [jsonArrayFrom(sessions).as("sessions"), jsonArrayFrom(generations).as("generations")])
    .executeTakeFirstOrThrow();
  return endingsFrom(row);
}
