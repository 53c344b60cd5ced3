// The audit trail: every event, newest first, by type and account, keyset-paged.
import { type AuthEventType, readPage } from "../api.ts";
import { h } from "../dom.ts";
import { EVENT_LABELS, filterOptions, isEventType } from "../labels.ts";
import { go, links } from "../router.ts";
import { adminApi } from "../session.ts";
import { eventTable } from "./event-table.ts";
import { renderPagedList } from "./paged-list.ts";
import { field, onFilter, select } from "./parts.ts";

const PAGE_SIZE = 50;

type EventFilters = {
  type: AuthEventType | undefined;
  user_id: string | undefined;
};

/** The filters in the URL; an event type the API does not know, or an id that is not one, is left out. */
function filtersOf(query: URLSearchParams): EventFilters {
  const type = query.get("type");
  const userId = query.get("user_id") ?? "";
  return { type: isEventType(type) ? type : undefined, user_id: /^\d{1,19}$/.test(userId) ? userId : undefined };
}

function filterForm(filters: EventFilters): HTMLFormElement {
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter events", method: "post" },
    select("Event type", "type", filterOptions(EVENT_LABELS, "Any event"), filters.type ?? ""),
    field(
      "Account id",
      h("input", {
        name: "user_id",
        type: "text",
        inputmode: "numeric",
        pattern: "[0-9]*",
        title: "Digits only: the id shown on the account's page",
        value: filters.user_id ?? "",
        autocomplete: "off",
        size: 10,
      }),
    ),
    h("button", { type: "submit" }, "Filter"),
  );
  onFilter(form, (value) => go(links.events({ type: value("type"), user_id: value("user_id") })));
  return form;
}

export function renderEvents(main: HTMLElement, query: URLSearchParams, signal: AbortSignal): Promise<void> {
  const filters = filtersOf(query);
  const cursor = query.get("cursor") || undefined;
  return renderPagedList(
    main,
    {
      title: "Events",
      noun: "events",
      filters,
      form: filterForm(filters),
      link: links.events,
      cursor,
      load: () => readPage(adminApi.GET("/events", { params: { query: { limit: PAGE_SIZE, ...filters, cursor } }, signal })),
      show: (events) => [eventTable(events, true)],
      paging: { label: "Pages of events", first: "Newest events", next: "Older events" },
    },
    signal,
  );
}
