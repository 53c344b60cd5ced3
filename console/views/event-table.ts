// The audit trail as a table, for the events page and a user's page alike.
import type { AuthEvent } from "../api.ts";
import { h } from "../dom.ts";
import { eventDetails, when } from "../format.ts";
import { EVENT_LABELS } from "../labels.ts";
import { links } from "../router.ts";
import { type Column, table } from "./parts.ts";

function account(id: number | null): HTMLAnchorElement | string {
  return id === null ? "—" : h("a", { href: links.user(id) }, `#${id}`);
}

/** `withAccount`: a column for the account each event is about (not needed on that account's page). */
export function eventTable(events: AuthEvent[], withAccount: boolean): HTMLDivElement {
  const columns: Column<AuthEvent>[] = [
    { label: "When", cell: (event) => when(event.created_at) },
    { label: "Event", cell: (event) => h("span", { class: `event event-${event.type}`, title: event.type }, EVENT_LABELS[event.type]) },
    ...(withAccount ? [{ label: "Account", cell: (event: AuthEvent) => account(event.user_id) }] : []),
    { label: "Details", cell: eventDetails },
    { label: "By", cell: (event) => (event.actor_id !== null && event.actor_id === event.user_id ? "the user" : account(event.actor_id)) },
    { label: "From", cell: (event) => event.client_address ?? "—" },
  ];
  return table("Events, newest first", columns, events);
}
