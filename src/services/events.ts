import { countPerDay, type EventAccount, type EventListing, listEvents, type StoredEvent } from "../db/events.ts";
import { ApiError } from "../errors.ts";
import type { AuthEvent, AuthEventType, DailyCount } from "../schemas/events.ts";
import type { ServiceContext } from "./context.ts";

export interface EventQuery {
  limit: number;
  /** The id of the last event of the previous page. */
  afterId?: string | undefined;
  type?: AuthEventType | undefined;
  /** Only the events about this account, by id or by address. */
  account?: EventAccount | undefined;
}

/**
 * A page of the audit trail, newest first, each event with the account's and the actor's addresses, and the id to
 * continue after when there is more (one round trip). An account asked for that does not exist is 404, so a filter
 * that names nobody is never mistaken for an account without events.
 */
export async function listEventsPage(
  ctx: ServiceContext,
  query: EventQuery,
): Promise<{ events: AuthEvent[]; continueAfter: string | undefined }> {
  const { account } = query;
  // one row more than asked tells whether there is a next page without a count query
  const { found, events } = await listEvents(ctx.db, { limit: query.limit + 1, beforeId: query.afterId, type: query.type, account });
  if (!found) {
    const named = account && "email" in account ? `the address ${account.email}` : "this id";
    throw new ApiError("user_not_found", `No account has ${named} (an erased account's events name it by a pseudonym).`);
  }
  const page = events.slice(0, query.limit);
  const last = page.at(-1);
  return { events: page.map(publicEvent), continueAfter: events.length > query.limit && last ? last.id : undefined };
}

/**
 * An event as the trail shows it; `created_at` may come as JSON's text of a time. The addresses are the ones the
 * list joins in; an event read without them (a data export's) names nobody but by id.
 */
export function publicEvent(
  row: Omit<StoredEvent, "created_at"> & { created_at: Date | string } & Partial<Pick<EventListing, "user_email" | "actor_email">>,
): AuthEvent {
  return {
    id: Number(row.id),
    type: row.type,
    user_id: row.user_id === null ? null : Number(row.user_id),
    actor_id: row.actor_id === null ? null : Number(row.actor_id),
    user_email: row.user_email ?? null,
    actor_email: row.actor_email ?? null,
    user_pseudonym: row.user_pseudonym,
    actor_pseudonym: row.actor_pseudonym,
    client_address: row.client_address,
    user_agent: row.user_agent,
    request_id: row.request_id,
    details: isRecord(row.details) ? row.details : {},
    created_at: new Date(row.created_at).toISOString(),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The last `days` days in UTC, today's so far included: sign-ups, sign-ins and refused sign-ins a day, so a spike of
 * refused sign-ins shows at a glance (one round trip, over an index of the audit trail).
 */
export async function countsPerDay(ctx: ServiceContext, days: number): Promise<DailyCount[]> {
  const today = Date.UTC(ctx.now.getUTCFullYear(), ctx.now.getUTCMonth(), ctx.now.getUTCDate());
  const rows = await countPerDay(ctx.db, { firstDay: new Date(today - (days - 1) * DAY_MS), days });
  return rows.map(({ day, signed_up, signed_in, refused }) => ({ day, signed_up, signed_in, refused }));
}
