import { type AliasableExpression, type Expression, expressionBuilder, type RawBuilder, type Selectable, type SqlBool, sql } from "kysely";
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

/** An event as the trail stores it. */
export type StoredEvent = Pick<Selectable<AuthEvents>, (typeof EVENT_COLUMNS)[number]>;

/** An event as the trail lists it: with the addresses the account and the actor have now (null once erased). */
export type EventListing = StoredEvent & { user_email: string | null; actor_email: string | null };

type Nullable<T> = { [K in keyof T]: T[K] | null };

/** The event of a row of the page, none for the row that stands for an empty page (every column null). */
function eventFrom(row: Nullable<EventListing>): EventListing[] {
  const { id, type, details, created_at, ...rest } = row;
  if (id === null || type === null || details === null || created_at === null) return [];
  return [{ id, type, details, created_at, ...rest }];
}

/** Whose events: an account by its id, or by its address. */
export type EventAccount = { userId: string } | { email: string };

export interface EventFilters {
  type?: AuthEventType | undefined;
  account?: EventAccount | undefined;
  /** Only events older than this one (the last of the previous page). */
  beforeId?: string | undefined;
  limit: number;
}

function accountIds(account: EventAccount) {
  const users = tables.selectFrom("users").select("id");
  return "userId" in account ? users.where("id", "=", account.userId) : users.where("email", "=", account.email);
}

/** A page of events, each with the account's and the actor's addresses, joined in. */
function eventPage(filters: EventFilters) {
  const { type, account, beforeId, limit } = filters;
  return tables
    .selectFrom("auth_events as e")
    .leftJoin("users as u", "u.id", "e.user_id")
    .leftJoin("users as a", "a.id", "e.actor_id")
    .select(EVENT_COLUMNS.map((column) => `e.${column}` as const))
    .select(["u.email as user_email", "a.email as actor_email"])
    .where((eb) => {
      const conditions: Expression<SqlBool>[] = [];
      if (type !== undefined) conditions.push(eb("e.type", "=", type));
      if (account !== undefined) conditions.push(eb("e.user_id", "=", accountIds(account).$asScalar()));
      if (beforeId !== undefined) conditions.push(eb("e.id", "<", beforeId));
      return eb.and(conditions);
    })
    .orderBy("e.id", "desc")
    .limit(limit);
}

/**
 * Newest first, paged by id: a keyset page costs the same at page 1 and page 1,000. In the same statement, whether
 * the account the list is of exists (`found`; always, for a list of every account's events), so a filter that names
 * nobody is told apart from an account without events.
 */
export async function listEvents(db: Db, filters: EventFilters): Promise<{ found: boolean; events: EventListing[] }> {
  const { account } = filters;
  const rows = await db
    .selectFrom(tables.selectNoFrom((eb) => (account === undefined ? eb.lit(true) : eb.exists(accountIds(account))).as("found")).as("f"))
    .leftJoinLateral(
      () => eventPage(filters).as("e"),
      (join) => join.onTrue(),
    )
    .selectAll("e")
    .select("f.found")
    .execute();
  const events = rows.flatMap(({ found: _found, ...row }) => eventFrom(row));
  return { found: rows[0]?.found === true, events };
}

/**
 * The events a day's picture counts, spelled exactly as the partial index that holds them (auth_events_daily_idx), so
 * the planner reads that index alone: sign-ups, sign-ins, and refused sign-ins (not a wrong password asked again of a
 * signed-in person, whose event says `during` what).
 */
const COUNTED_PER_DAY = sql<SqlBool>`(type in ('signed_up', 'login_succeeded') or (type = 'login_failed' and not details ? 'during'))`;

/** A day (UTC) as text, as the picture names it. */
const dayOf = (time: RawBuilder<Date>) => sql<string>`to_char(${time} at time zone 'UTC', 'YYYY-MM-DD')`;

/**
 * Sign-ups, sign-ins and refused sign-ins per day (UTC), for `days` days from `firstDay` (midnight UTC), every day
 * there even when nothing happened, in one statement.
 */
export async function countPerDay(db: Db, window: { firstDay: Date; days: number }) {
  const { firstDay, days } = window;
  const end = new Date(firstDay.getTime() + days * 24 * 60 * 60 * 1000);
  const counts = tables
    .selectFrom("auth_events")
    .select((eb) => [
      dayOf(sql<Date>`created_at`).as("day"),
      eb.cast<number>(eb.fn.countAll().filterWhere("type", "=", "signed_up"), "integer").as("signed_up"),
      eb.cast<number>(eb.fn.countAll().filterWhere("type", "=", "login_succeeded"), "integer").as("signed_in"),
      eb.cast<number>(eb.fn.countAll().filterWhere("type", "=", "login_failed"), "integer").as("refused"),
    ])
    .where("created_at", ">=", firstDay)
    .where("created_at", "<", end)
    .where(COUNTED_PER_DAY)
    .groupBy(sql`1`);
  const calendar = tables.selectNoFrom(
    dayOf(sql<Date>`generate_series(${firstDay}::timestamptz, ${end}::timestamptz - interval '1 day', interval '1 day')`).as("day"),
  );
  return db
    .selectFrom(calendar.as("d"))
    .leftJoin(counts.as("c"), "c.day", "d.day")
    .select((eb) => [
      "d.day",
      eb.fn.coalesce("c.signed_up", eb.lit(0)).as("signed_up"),
      eb.fn.coalesce("c.signed_in", eb.lit(0)).as("signed_in"),
      eb.fn.coalesce("c.refused", eb.lit(0)).as("refused"),
    ])
    .orderBy("d.day")
    .execute();
}
