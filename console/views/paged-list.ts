// What the users and events pages share: a heading, a filter form, one page of results under it as it loads,
// and links to the first page and the next.
import type { Page } from "../api.ts";
import { type Child, fill, h, viewHeading } from "../dom.ts";
import { empty, loading, problem, takeFlash } from "./parts.ts";

type Filters = Record<string, string | undefined>;

export interface PagedList<T> {
  /** The heading, and the start of the document's title. */
  title: string;
  /** What the list holds, in the plural: "users". */
  noun: string;
  /** The filters in effect, as the URL has them, and the form that changes them. */
  filters: Filters;
  form: HTMLFormElement;
  /** What the page shows above its filters, whatever they are (the users page's picture of the last days). */
  above?: Node | undefined;
  /** The list's place with filters and a cursor (none: its first page). */
  link: (query: Filters) => string;
  /** The cursor of the page shown; none on the first page. */
  cursor: string | undefined;
  /** The page's number, counted from the first as the Next links are followed (the URL carries it). */
  page: number;
  load: () => Promise<Page<T>>;
  /** A page's results, when it has some. */
  show: (page: Page<T>) => Child[];
  /** The paging links' accessible name and words. */
  paging: { label: string; first: string; next: string };
}

export async function renderPagedList<T>(main: HTMLElement, list: PagedList<T>, signal: AbortSignal): Promise<void> {
  document.title = `${list.title} — Coffee Shop admin`;
  const results = h("div", { class: "results", "aria-live": "polite" }, loading(`Loading ${list.noun}…`));
  const heading = viewHeading(list.title);
  fill(main, heading, takeFlash(), list.above, list.form, results);
  heading.focus();
  try {
    const page = await list.load();
    if (signal.aborted) return;
    if (page.items.length > 0) fill(results, ...list.show(page), pagingLinks(list, page.next));
    else fill(results, empty(Object.values(list.filters).some(Boolean) ? `No ${list.noun} match these filters.` : `No ${list.noun} yet.`));
  } catch (error) {
    if (!signal.aborted) fill(results, problem(error));
  }
}

function pagingLinks<T>({ paging, link, filters, cursor, page }: PagedList<T>, next: string | undefined): HTMLElement {
  return h(
    "nav",
    { class: "paging", "aria-label": paging.label },
    cursor ? h("a", { href: link(filters) }, paging.first) : null,
    next ? h("a", { href: link({ ...filters, cursor: next, page: String(page + 1) }), rel: "next" }, paging.next) : null,
  );
}

/** The page's number in the URL: 1 on the first page, or one the Next link gave. */
export function pageNumber(query: URLSearchParams): number {
  const page = Number(query.get("page"));
  return query.get("cursor") && Number.isInteger(page) && page > 1 ? page : 1;
}
