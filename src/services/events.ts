import { type EventListing, listEvents } from "../db/events.ts";
import type { AuthEvent, AuthEventType } from "../schemas/events.ts";
import type { ServiceContext } from "./context.ts";

export interface EventQuery {
  limit: number;
  /** The id of the last event of the previous page. */
  afterId?: string | undefined;
  type?: AuthEventType | undefined;
  userId?: string | undefined;
}

/** A page of the audit trail, newest first, and the id to continue after when there is more. */
export async function listEventsPage(
  ctx: ServiceContext,
  query: EventQuery,
): Promise<{ events: AuthEvent[]; continueAfter: string | undefined }> {
  // one row more than asked tells whether there is a next page without a count query
  const rows = await listEvents(ctx.db, { limit: query.limit + 1, beforeId: query.afterId, type: query.type, userId: query.userId });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return { events: page.map(publicEvent), continueAfter: rows.length > query.limit && last ? last.id : undefined };
}

/** An event as the trail shows it; `created_at` may come as JSON's text of a time. */
export function publicEvent(row: Omit<EventListing, "created_at"> & { created_at: Date | string }): AuthEvent {
  return {
    id: Number(row.id),
    type: row.type,
    user_id: row.user_id === null ? null : Number(row.user_id),
    actor_id: row.actor_id === null ? null : Number(row.actor_id),
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
