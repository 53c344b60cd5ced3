// Ending sessions, in Postgres: a session ends when its refresh tokens leave the whitelist and the
// session joins the blacklist (revoked_tokens), in the statement of whatever ended it. The edge copies
// of the blacklist are written by src/edge/revocations.ts, which alone hands out a SessionEnder.
import { type AliasableExpression, expressionBuilder, type OperandExpression, type QueryCreator, sql } from "kysely";
import { jsonArrayFrom, jsonBuildObject } from "kysely/helpers/postgres";
import type { Db } from "./client.ts";
import { partBuilder, QueryRows, type Step } from "./parts.ts";
import type { DB } from "./schema.ts";

export interface EndedSession {
  sessionId: string;
  /** When the session's last refresh token would have expired: no token of it is valid after. */
  expiresAt: Date;
}

/** Sessions are blacklisted under this prefix and their id: tokens carry their session, not an id of their own. */
const SESSION_TOKEN_PREFIX = "session:";

interface EndedSessionRow {
  session_id: string;
  expires_at: Date;
}

const revocationParts = partBuilder<{ revoked: EndedSessionRow; ended: EndedSessionRow; closed: { id: string; user_id: string } }>();

/** The blacklist id of a session, in SQL: `session:` and the session's id. */
function blacklistId(sessionId: OperandExpression<string>) {
  const eb = expressionBuilder<object, never>();
  return eb(eb.cast<string>(eb.val(SESSION_TOKEN_PREFIX), "text"), "||", eb.cast<string>(sessionId, "text"));
}

/**
 * The blacklist entry of the session that `sessionId` yields, if that session has ended: a statement that
 * would extend a session (a rotation) checks it, so a session ended by another statement stays ended.
 */
export function blacklistEntryOf(sessionId: OperandExpression<string>) {
  return revocationParts.selectFrom("revoked_tokens").select("token_id").where("token_id", "=", blacklistId(sessionId));
}

/** The sessions one statement ends: the step that ends them, and what it ended. */
export interface EndingPart {
  step: Step | undefined;
  /** One row per session ended, as a JSON array for the statement's result (read back by `SessionEnder.parse`). */
  ended(): AliasableExpression<{ session_id: string; expires_at: string }[]>;
  /** The user and session of each session ended, as event rows (`{ session_id }` as their details). */
  closedSessionEvents(): ClosedSessionEvents;
}

/** The user and session of each session a statement ended, as event rows. */
function closedSessionEvents() {
  return revocationParts.selectFrom("closed").select((eb) => ["user_id", jsonBuildObject({ session_id: eb.ref("id") }).as("row_details")]);
}

type ClosedSessionEvents = ReturnType<typeof closedSessionEvents>;

/** Takes part in one statement that ends sessions; only `endingSessions` (src/edge/revocations.ts) makes one. */
export class SessionEnder {
  readonly #now: Date;

  constructor(now: Date) {
    this.#now = now;
  }

  /**
   * Ends the sessions `sessionIds` selects: their refresh tokens leave the whitelist (`revoked`), their rows
   * in sessions go (`closed`), and each joins the blacklist (`blacklisted`) until its last token would have
   * expired. Nothing when `sessionIds` is undefined.
   */
  endSessions(sessionIds: ((q: QueryCreator<DB>) => OperandExpression<string>) | undefined): EndingPart {
    if (!sessionIds) {
      return { step: undefined, ended: () => sql<{ session_id: string; expires_at: string }[]>`'[]'::json`, closedSessionEvents };
    }
    return {
      step: (statement) =>
        statement
          .with(
            "revoked",
            (q) =>
              new QueryRows(
                revocationParts
                  .deleteFrom("refresh_tokens")
                  .where("session_id", "in", sessionIds(q))
                  .returning(["session_id", "expires_at"]),
              ),
          )
          .with("ended", () =>
            revocationParts
              .selectFrom("revoked")
              .select((eb) => ["session_id", eb.fn.max("expires_at").as("expires_at")])
              .groupBy("session_id"),
          )
          .with(
            "closed",
            () =>
              new QueryRows(
                revocationParts
                  .deleteFrom("sessions")
                  .where("id", "in", revocationParts.selectFrom("ended").select("session_id"))
                  .returning(["id", "user_id"]),
              ),
          )
          .with("blacklisted", () => new QueryRows(this.#blacklist())),
      ended: () => jsonArrayFrom(revocationParts.selectFrom("ended").select(["session_id", "expires_at"])),
      closedSessionEvents,
    };
  }

  /** Each ended session on the blacklist, or kept there longer if it was already. */
  #blacklist() {
    return revocationParts
      .insertInto("revoked_tokens")
      .columns(["token_id", "expires_at", "revoked_at"])
      .expression((eb) =>
        eb
          .selectFrom("ended")
          .select((eb) => [blacklistId(eb.ref("session_id")).as("token_id"), "expires_at", eb.val(this.#now).as("revoked_at")]),
      )
      .onConflict((oc) =>
        oc.column("token_id").doUpdateSet((eb) => ({
          expires_at: eb.fn<Date>("greatest", ["revoked_tokens.expires_at", "excluded.expires_at"]),
        })),
      );
  }

  /** Reads back what `ended` selected. */
  parse(rows: { session_id: string; expires_at: string }[]): EndedSession[] {
    return rows.map((row) => ({ sessionId: row.session_id, expiresAt: new Date(row.expires_at) }));
  }
}

/**
 * The sessions blacklisted since `since` whose tokens could still be presented, newest first and at most
 * `limit`: what the cron copies to the edge again, in case an edge write failed after Postgres committed.
 */
export async function recentRevocations(db: Db, window: { since: Date; now: Date; limit: number }): Promise<EndedSession[]> {
  const rows = await db
    .selectFrom("revoked_tokens")
    .select(["token_id", "expires_at"])
    .where("token_id", "like", `${SESSION_TOKEN_PREFIX}%`)
    .where("revoked_at", ">", window.since)
    .where("expires_at", ">", window.now)
    .orderBy("revoked_at", "desc")
    .limit(window.limit)
    .execute();
  return rows.map((row) => ({ sessionId: row.token_id.slice(SESSION_TOKEN_PREFIX.length), expiresAt: row.expires_at }));
}
