// The audit trail as a table, for the events page and a user's page alike: each event as a sentence that names the
// people by their address, linked to their pages.
import type { AuthEvent } from "../api.ts";
import { h } from "../dom.ts";
import { when } from "../format.ts";
import { EVENT_LABELS } from "../labels.ts";
import { eventSentence } from "./event-words.ts";
import { type Column, table } from "./parts.ts";

export function eventTable(events: AuthEvent[]): HTMLDivElement {
  const columns: Column<AuthEvent>[] = [
    { label: "When", cell: (event) => when(event.created_at) },
    { label: "Event", cell: (event) => h("span", { class: `event event-${event.type}`, title: event.type }, EVENT_LABELS[event.type]) },
    { label: "What happened", cell: (event) => h("span", { class: "sentence" }, ...eventSentence(event)) },
    { label: "From", cell: (event) => event.client_address ?? "—" },
  ];
  return table("Events, newest first", columns, events);
}
