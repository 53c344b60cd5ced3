// The audit trail: every event, newest first, in words, by type and by account (an address or an id), keyset-paged.
import { type AuthEventType, readPage } from "../api.ts";
import { h } from "../dom.ts";
import { EVENT_LABELS, filterOptions, isEventType } from "../labels.ts";
import { go, links } from "../router.ts";
import { adminApi } from "../session.ts";
import { eventTable } from "./event-table.ts";
import { pageNumber, renderPagedList } from "./paged-list.ts";
import { field, onFilter, select } from "./parts.ts";

const PAGE_SIZE = 50;

type EventFilters = {
  type: AuthEventType | undefined;
  /** An account's address, or its id. */
  account: string | undefined;
};

/** The filters in the URL; an event type the API does not know is left out. */
function filtersOf(query: URLSearchParams): EventFilters {
  const type = query.get("type");
  return { type: isEventType(type) ? type : undefined, account: query.get("account")?.trim() || undefined };
}

/** The API's parameter for the account asked for: digits are an id, anything else an address. */
function accountQuery(account: string | undefined): { user_id?: string; email?: string } {
  if (account === undefined) return {};
  return /^\d+$/.test(account) ? { user_id: account } : { email: account };
}

function filterForm(filters: EventFilters): HTMLFormElement {
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter events", method: "post" },
    select("Event type", "type", filterOptions(EVENT_LABELS, "Any event"), filters.type ?? ""),
    field(
      "Account: email or id",
      h("input", {
        name: "account",
        type: "text",
        value: filters.account ?? "",
        autocomplete: "off",
        spellcheck: "false",
        placeholder: "e.g. ada@example.com or 42",
      }),
      { class: "grow" },
    ),
    h("button", { type: "submit" }, "Filter"),
  );
  onFilter(form, (value) => go(links.events({ type: value("type"), account: value("account") })));
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
      page: pageNumber(query),
      load: () =>
        readPage(
          adminApi.GET("/events", {
            params: { query: { limit: PAGE_SIZE, type: filters.type, ...accountQuery(filters.account), cursor } },
            signal,
          }),
        ),
      show: (events) => [eventTable(events.items)],
      paging: { label: "Pages of events", first: "Newest events", next: "Older events" },
    },
    signal,
  );
}
