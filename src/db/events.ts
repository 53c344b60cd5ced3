import { type AliasableExpression, type Expression, expressionBuilder, type QueryCreator, type SqlBool } from "kysely";
import type { AuthEventType } from "../schemas/events.ts";
import type { Db } from "./client.ts";
import type { Json } from "./schema.ts";
import { partBuilder, QueryRows } from "./statement-parts.ts";

/** Who did it, from where: recorded with every event of a request. */
export interface EventContext {
  /** The signed-in user who acted, if any. */
  actorId: string | null;
  clientAddress: string | null;
  userAgent: string | null;
  requestId: string | null;
  now: Date;
}

/** Details of an event, as stored: never a password, code or token. */
export type EventDetails = Record<string, string | number | boolean | null>;

/**
 * An event the statement records for each row `rows` selects: the account it is about, and its details
 * (static, from `details`, merged with any the row carries as `row_details`).
 */
export interface EventSource<D> {
  type: AuthEventType;
  rows: (q: QueryCreator<D>) => AliasableExpression<{ user_id: string | null; row_details: Json | null }>;
  details?: EventDetails;
}

const part = partBuilder<object>();

/** For a source whose rows carry no details of their own. */
export function noRowDetails() {
  const eb = expressionBuilder<object, never>();
  return eb.cast<Json | null>(eb.val(null), "jsonb").as("row_details");
}

/**
 * Adds the common table expression `events`: the audit trail's entries for what this statement does,
 * written by the statement itself, so an action is never recorded without happening or the other way
 * round, and recording costs no round trip.
 */
export function withEvents<D>(qc: QueryCreator<D>, context: EventContext, sources: [EventSource<D>, ...EventSource<D>[]]) {
  return qc.with("events", (q) => {
    const rowsOf = (source: EventSource<D>) =>
      part
        .selectFrom(source.rows(q).as("source"))
        .select((eb) => [
          eb.cast<AuthEventType>(eb.val(source.type), "text").as("type"),
          eb.cast<string | null>("source.user_id", "bigint").as("user_id"),
          eb.cast<string | null>(eb.val(context.actorId), "bigint").as("actor_id"),
          eb.cast<string | null>(eb.val(context.clientAddress), "text").as("client_address"),
          eb.cast<string | null>(eb.val(context.userAgent), "text").as("user_agent"),
          eb.cast<string | null>(eb.val(context.requestId), "text").as("request_id"),
          eb(
            eb.cast<Json>(eb.val(JSON.stringify(source.details ?? {})), "jsonb"),
            "||",
            eb.fn.coalesce(eb.cast<Json | null>("source.row_details", "jsonb"), eb.cast<Json>(eb.val("{}"), "jsonb")),
          ).as("details"),
          eb.cast<Date>(eb.val(context.now), "timestamptz").as("created_at"),
        ]);
    // every value is cast: in a UNION, Postgres reads an untyped parameter as text
    const [first, ...rest] = sources;
    const union = rest.reduce((all, next) => all.unionAll(rowsOf(next)), rowsOf(first));
    return new QueryRows(
      part
        .insertInto("auth_events")
        .columns(["type", "user_id", "actor_id", "client_address", "user_agent", "request_id", "details", "created_at"])
        .expression(union)
        .returning("id"),
    );
  });
}

/** Records one event by itself: for what happens without a statement of its own (a failed login). */
export async function recordEvent(
  db: Db,
  context: EventContext,
  event: { type: AuthEventType; userId: string | null; details: EventDetails },
) {
  await db
    .insertInto("auth_events")
    .values({
      type: event.type,
      user_id: event.userId,
      actor_id: context.actorId,
      client_address: context.clientAddress,
      user_agent: context.userAgent,
      request_id: context.requestId,
      details: JSON.stringify(event.details),
      created_at: context.now,
    })
    .execute();
}

export interface EventFilters {
  type?: AuthEventType | undefined;
  userId?: string | undefined;
  /** Only events older than this one (the last of the previous page). */
  beforeId?: string | undefined;
  limit: number;
}

/** Newest first, paged by id: a keyset page costs the same at page 1 and page 1,000. */
export async function listEvents(db: Db, filters: EventFilters) {
  const { type, userId, beforeId, limit } = filters;
  return db
    .selectFrom("auth_events")
    .select(["id", "type", "user_id", "actor_id", "client_address", "user_agent", "request_id", "details", "created_at"])
    .where((eb) => {
      const conditions: Expression<SqlBool>[] = [];
      if (type !== undefined) conditions.push(eb("type", "=", type));
      if (userId !== undefined) conditions.push(eb("user_id", "=", userId));
      if (beforeId !== undefined) conditions.push(eb("id", "<", beforeId));
      return eb.and(conditions);
    })
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
}
