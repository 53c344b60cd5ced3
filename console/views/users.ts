// The users table: a search anywhere in the address, the names or the id; status and role filters; six orders;
// how many users match; keyset paging; the filtered list as CSV; and above it all, the last 30 days at a glance.
import { type AdminUser, ApiProblem, type Page, readPage, type UserRole, type UserSort, type UserStatus } from "../api.ts";
import { actionButton, h } from "../dom.ts";
import { fullName, lastSignIn, when } from "../format.ts";
import { filterOptions, isUserRole, isUserStatus, ROLE_LABELS, STATUS_LABELS } from "../labels.ts";
import { go, links } from "../router.ts";
import { adminApi } from "../session.ts";
import { activityPanel } from "./chart.ts";
import { pageNumber, renderPagedList } from "./paged-list.ts";
import { field, onFilter, problemSlot, report, roleBadge, select, statusBadge, table } from "./parts.ts";
import { standingBadges } from "./standing.ts";

const PAGE_SIZE = 25;

/** Each order in words, as the count line ends ("12 users match, newest first."). */
const SORTS: Record<UserSort, string> = {
  "-created_at": "newest first",
  created_at: "oldest first",
  "-last_sign_in_at": "latest sign-in first",
  last_sign_in_at: "longest since a sign-in first",
  email: "by email, A to Z",
  "-email": "by email, Z to A",
};

const capitalised = (text: string) => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;

const isSort = (value: string | null): value is UserSort => value !== null && Object.hasOwn(SORTS, value);

type UserFilters = {
  search: string | undefined;
  status: UserStatus | undefined;
  role: UserRole | undefined;
  sort: UserSort | undefined;
};

/** The filters in the URL; a status, role or order the API does not know is left out. */
function filtersOf(query: URLSearchParams): UserFilters {
  const [status, role, sort] = [query.get("status"), query.get("role"), query.get("sort")];
  return {
    search: query.get("search")?.trim() || undefined,
    status: isUserStatus(status) ? status : undefined,
    role: isUserRole(role) ? role : undefined,
    sort: isSort(sort) ? sort : undefined,
  };
}

function filterForm(filters: UserFilters): HTMLFormElement {
  const search = h("input", {
    name: "search",
    type: "search",
    value: filters.search ?? "",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "e.g. lovelace, ada@ or 42",
  });
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter users", method: "post" },
    field("Email, name or id", search, { class: "grow" }),
    select("Status", "status", filterOptions(STATUS_LABELS, "Any status"), filters.status ?? ""),
    select("Role", "role", filterOptions(ROLE_LABELS, "Any role"), filters.role ?? ""),
    select(
      "Order",
      "sort",
      Object.entries(SORTS).map(([value, words]) => [value, capitalised(words)]),
      filters.sort ?? "-created_at",
    ),
    h("button", { type: "submit" }, "Search"),
  );
  onFilter(form, (value) =>
    go(links.users({ search: value("search"), status: value("status"), role: value("role"), sort: value("sort") })),
  );
  return form;
}

function usersTable(users: AdminUser[]): HTMLDivElement {
  return table<AdminUser>(
    "Users",
    [
      { label: "Email", cell: (user) => h("a", { href: links.user(user.id) }, user.email) },
      { label: "Name", cell: fullName },
      { label: "Status", cell: (user) => statusBadge(user.status) },
      { label: "Role", cell: (user) => roleBadge(user.role) },
      { label: "Sign-in", cell: standingBadges },
      { label: "Last sign-in", cell: lastSignIn },
      { label: "Created", cell: (user) => when(user.created_at) },
    ],
    users,
  );
}

/** "1,234 users match, newest first (page 3)", or where counting stopped. */
function countLine(page: Page<AdminUser>, sort: UserSort, number: number): string {
  const { total } = page;
  const count = total?.count.toLocaleString("en") ?? "";
  const matching = !total
    ? "Users"
    : total.exact
      ? `${count} ${total.count === 1 ? "user matches" : "users match"}`
      : `More than ${count} users match (counted up to ${count})`;
  return `${matching}, ${SORTS[sort]}${number > 1 ? ` (page ${number})` : ""}.`;
}

/** The filtered list as a CSV file, downloaded from the API (with the admin's token, so not by a plain link). */
async function downloadCsv(filters: UserFilters): Promise<void> {
  const { data, error, response } = await adminApi.GET("/users.csv", { params: { query: filters }, parseAs: "blob" });
  if (!response.ok || data === undefined) throw new ApiProblem(response, error);
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "")?.[1] ?? "users.csv";
  const url = URL.createObjectURL(data);
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

function exportButton(filters: UserFilters): HTMLElement {
  const problemBox = problemSlot();
  const button = actionButton("Export as CSV", async () => {
    try {
      await downloadCsv(filters);
    } catch (error) {
      report(problemBox, error);
    }
  });
  return h("div", { class: "actions" }, button, problemBox);
}

export function renderUsers(main: HTMLElement, query: URLSearchParams, signal: AbortSignal): Promise<void> {
  const filters = filtersOf(query);
  const sort = filters.sort ?? "-created_at";
  const cursor = query.get("cursor") || undefined;
  const number = pageNumber(query);
  return renderPagedList(
    main,
    {
      title: "Users",
      noun: "users",
      filters,
      form: filterForm(filters),
      above: activityPanel(signal),
      link: links.users,
      cursor,
      page: number,
      load: () => readPage(adminApi.GET("/users", { params: { query: { limit: PAGE_SIZE, ...filters, cursor } }, signal })),
      show: (page) => [
        h("div", { class: "list-head" }, h("p", { class: "state", role: "status" }, countLine(page, sort, number)), exportButton(filters)),
        usersTable(page.items),
      ],
      paging: { label: "Pages of users", first: "First page", next: "Next page" },
    },
    signal,
  );
}
