// The users table: email-prefix search, status and role filters, keyset paging (newest first).
import { type AdminUser, readPage, type UserRole, type UserStatus } from "../api.ts";
import { h } from "../dom.ts";
import { fullName, lastSignIn, when } from "../format.ts";
import { filterOptions, isUserRole, isUserStatus, ROLE_LABELS, STATUS_LABELS } from "../labels.ts";
import { go, links } from "../router.ts";
import { adminApi } from "../session.ts";
import { renderPagedList } from "./paged-list.ts";
import { field, onFilter, roleBadge, select, statusBadge, table } from "./parts.ts";
import { standingBadges } from "./standing.ts";

const PAGE_SIZE = 25;

type UserFilters = {
  email: string | undefined;
  status: UserStatus | undefined;
  role: UserRole | undefined;
};

/** The filters in the URL; a status or role the API does not know is left out. */
function filtersOf(query: URLSearchParams): UserFilters {
  const status = query.get("status");
  const role = query.get("role");
  return {
    email: query.get("email")?.trim() || undefined,
    status: isUserStatus(status) ? status : undefined,
    role: isUserRole(role) ? role : undefined,
  };
}

function filterForm(filters: UserFilters): HTMLFormElement {
  const search = h("input", {
    name: "email",
    type: "search",
    value: filters.email ?? "",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "e.g. ada@",
  });
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter users", method: "post" },
    field("Email starts with", search, { class: "grow" }),
    select("Status", "status", filterOptions(STATUS_LABELS, "Any status"), filters.status ?? ""),
    select("Role", "role", filterOptions(ROLE_LABELS, "Any role"), filters.role ?? ""),
    h("button", { type: "submit" }, "Search"),
  );
  onFilter(form, (value) => go(links.users({ email: value("email"), status: value("status"), role: value("role") })));
  return form;
}

function usersTable(users: AdminUser[]): HTMLDivElement {
  return table<AdminUser>(
    "Users, newest first",
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

export function renderUsers(main: HTMLElement, query: URLSearchParams, signal: AbortSignal): Promise<void> {
  const filters = filtersOf(query);
  const cursor = query.get("cursor") || undefined;
  const count = (users: AdminUser[]) =>
    `${users.length} ${users.length === 1 ? "user" : "users"}${cursor ? " on this page" : ""}, newest first.`;
  return renderPagedList(
    main,
    {
      title: "Users",
      noun: "users",
      filters,
      form: filterForm(filters),
      link: links.users,
      cursor,
      load: () => readPage(adminApi.GET("/users", { params: { query: { limit: PAGE_SIZE, ...filters, cursor } }, signal })),
      show: (users) => [h("p", { class: "state", role: "status" }, count(users)), usersTable(users)],
      paging: { label: "Pages of users", first: "First page", next: "Next page" },
    },
    signal,
  );
}
