// The audit trail: every event, newest first, by type and account, keyset-paged.
import { readPage } from "../api.ts";
import { fill, h, viewHeading } from "../dom.ts";
import { EVENT_LABELS, filterOptions, isEventType } from "../labels.ts";
import { go, links } from "../router.ts";
import { adminApi } from "../session.ts";
import { eventTable } from "./event-table.ts";
import { empty, field, loading, onFilter, problem, select } from "./parts.ts";

const PAGE_SIZE = 50;

export async function renderEvents(main: HTMLElement, query: URLSearchParams, signal: AbortSignal): Promise<void> {
  const type = query.get("type");
  const userId = /^\d{1,19}$/.test(query.get("user_id") ?? "") ? (query.get("user_id") ?? undefined) : undefined;
  const cursor = query.get("cursor") || undefined;

  document.title = "Events — Coffee Shop admin";
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter events", method: "post" },
    select("Event type", "type", filterOptions(EVENT_LABELS, "Any event"), isEventType(type) ? type : ""),
    field(
      "Account id",
      h("input", {
        name: "user_id",
        type: "text",
        inputmode: "numeric",
        pattern: "[0-9]*",
        title: "Digits only: the id shown on the account's page",
        value: userId ?? "",
        autocomplete: "off",
        size: 10,
      }),
    ),
    h("button", { type: "submit" }, "Filter"),
  );
  onFilter(form, (value) => go(links.events({ type: value("type"), user_id: value("user_id") })));
  const results = h("div", { class: "results", "aria-live": "polite" }, loading("Loading events…"));
  const heading = viewHeading("Events");
  fill(main, heading, form, results);
  heading.focus();

  try {
    const page = await readPage(
      adminApi.GET("/events", {
        params: { query: { limit: PAGE_SIZE, type: isEventType(type) ? type : undefined, user_id: userId, cursor } },
        signal,
      }),
    );
    if (signal.aborted) return;
    if (page.items.length === 0) {
      fill(results, empty(isEventType(type) || userId ? "No events match these filters." : "No events yet."));
      return;
    }
    const pageLinks = { type: type ?? undefined, user_id: userId };
    fill(
      results,
      eventTable(page.items, true),
      h(
        "nav",
        { class: "paging", "aria-label": "Pages of events" },
        cursor ? h("a", { href: links.events(pageLinks) }, "Newest events") : null,
        page.next ? h("a", { href: links.events({ ...pageLinks, cursor: page.next }), rel: "next" }, "Older events") : null,
      ),
    );
  } catch (error) {
    if (!signal.aborted) fill(results, problem(error));
  }
}
