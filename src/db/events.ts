import { type AliasableExpression, type Expression, expressionBuilder, type Selectable, type SqlBool, sql } from "kysely";
import type { AuthEventType } from "../schemas/events.ts";
import type { Db } from "./client.ts";
import { cte, QueryRows, type Step, tables } from "./parts.ts";
import type { AuthEvents, Json } from "./schema.ts";

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

/** The account an event is about, and what this row adds to the event's details (or null). */
export type EventRow = { user_id: string | null; row_details: Json | null };

/** An erased account's event row: the pseudonym that stands for it in the trail, in place of its id. */
export type ErasedEventRow = { user_pseudonym: string; row_details: Json | null };

/** An event the statement records for each row `rows` selects, with `details` merged into each row's own. */
export interface EventSource<Row = EventRow> {
  type: AuthEventType;
  rows: () => AliasableExpression<Row>;
  details?: EventDetails;
}

/** For a source whose rows carry no details of their own. */
export function noRowDetails() {
  const eb = expressionBuilder<object, never>();
  return eb.cast<Json | null>(eb.val(null), "jsonb").as("row_details");
}

/**
 * Records `source`'s events in the statement that does what they record, so an action is never recorded
 * without happening or the other way round, and recording costs no round trip. Each source is an insert
 * of its own: a parameter takes its type from the column it fills.
 */
export function recordEvents(context: EventContext, source: EventSource): Step {
  return insertEvents(context, source, "user_id");
}

/** Records events about accounts the statement erases, each named by its pseudonym. */
export function recordErasedEvents(context: EventContext, source: EventSource<ErasedEventRow>): Step {
  return insertEvents(context, source, "user_pseudonym");
}

function insertEvents(context: EventContext, source: EventSource<EventRow | ErasedEventRow>, subject: "user_id" | "user_pseudonym"): Step {
  return cte<{ id: string }>()(`event_${source.type}`).as(
    () =>
      new QueryRows(
        tables
          .insertInto("auth_events")
          .columns(["type", subject, "actor_id", "client_address", "user_agent", "request_id", "details", "created_at"])
          .expression((eb) =>
            eb.selectFrom(source.rows().as("source")).select((eb) => [
              eb.val(source.type).as("type"),
              // the subject's column, named alike in the rows: `source.user_id` or `source.user_pseudonym`
              sql.ref(`source.${subject}`).as(subject),
              eb.val(context.actorId).as("actor_id"),
              eb.val(context.clientAddress).as("client_address"),
              eb.val(context.userAgent).as("user_agent"),
              eb.val(context.requestId).as("request_id"),
              // an untyped parameter beside jsonb is read as jsonb (json_build_object makes json)
              sql<Json>`${JSON.stringify(source.details ?? {})} || coalesce(${sql.ref("source.row_details")}::jsonb, '{}')`.as("details"),
              eb.val(context.now).as("created_at"),
            ]),
          )
          .returning("id"),
      ),
  );
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

/** An event's columns, as the trail shows them. */
export const EVENT_COLUMNS = [
  "id",
  "type",
  "user_id",
  "actor_id",
  "user_pseudonym",
  "actor_pseudonym",
  "client_address",
  "user_agent",
  "request_id",
  "details",
  "created_at",
] as const;

export type EventListing = Pick<Selectable<AuthEvents>, (typeof EVENT_COLUMNS)[number]>;

export interface EventFilters {
  type?: AuthEventType | undefined;
  userId?: string | undefined;
  /** Only events older than this one (the last of the previous page). */
  beforeId?: string | undefined;
  limit: number;
}

/** Newest first, paged by id: a keyset page costs the same at page 1 and page 1,000. */
export async function listEvents(db: Db, filters: EventFilters): Promise<EventListing[]> {
  const { type, userId, beforeId, limit } = filters;
  return db
    .selectFrom("auth_events")
    .select(EVENT_COLUMNS)
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
