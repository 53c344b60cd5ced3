// The users table: email-prefix search, status and role filters, keyset paging (newest first).
import { readPage, type User } from "../api.ts";
import { fill, h, viewHeading } from "../dom.ts";
import { fullName, when } from "../format.ts";
import { filterOptions, isUserRole, isUserStatus, ROLE_LABELS, STATUS_LABELS } from "../labels.ts";
import { go, links } from "../router.ts";
import { adminApi } from "../session.ts";
import { empty, field, loading, onFilter, problem, takeFlash, roleBadge, select, statusBadge, table } from "./parts.ts";

const PAGE_SIZE = 25;

export async function renderUsers(main: HTMLElement, query: URLSearchParams, signal: AbortSignal): Promise<void> {
  const email = query.get("email")?.trim() || undefined;
  const status = query.get("status");
  const role = query.get("role");
  const cursor = query.get("cursor") || undefined;
  const filtered = email !== undefined || isUserStatus(status) || isUserRole(role);

  document.title = "Users — Coffee Shop admin";
  const search = h("input", {
    name: "email",
    type: "search",
    value: email ?? "",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "e.g. ada@",
  });
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter users", method: "post" },
    field("Email starts with", search, { class: "grow" }),
    select("Status", "status", filterOptions(STATUS_LABELS, "Any status"), isUserStatus(status) ? status : ""),
    select("Role", "role", filterOptions(ROLE_LABELS, "Any role"), isUserRole(role) ? role : ""),
    h("button", { type: "submit" }, "Search"),
  );
  onFilter(form, (value) => go(links.users({ email: value("email"), status: value("status"), role: value("role") })));
  const results = h("div", { class: "results", "aria-live": "polite" }, loading("Loading users…"));
  const heading = viewHeading("Users");
  fill(main, heading, takeFlash(), form, results);
  heading.focus();

  try {
    const page = await readPage(
      adminApi.GET("/users", {
        params: {
          query: {
            limit: PAGE_SIZE,
            email,
            status: isUserStatus(status) ? status : undefined,
            role: isUserRole(role) ? role : undefined,
            cursor,
          },
        },
        signal,
      }),
    );
    if (signal.aborted) return;
    if (page.items.length === 0) {
      fill(results, empty(filtered ? "No users match these filters." : "No users yet."));
      return;
    }
    const pageLinks = { email, status: status ?? undefined, role: role ?? undefined };
    fill(
      results,
      h(
        "p",
        { class: "state", role: "status" },
        `${page.items.length} ${page.items.length === 1 ? "user" : "users"}${cursor ? " on this page" : ""}, newest first.`,
      ),
      table<User>(
        "Users, newest first",
        [
          { label: "Email", cell: (user) => h("a", { href: links.user(user.id) }, user.email) },
          { label: "Name", cell: fullName },
          { label: "Status", cell: (user) => statusBadge(user.status) },
          { label: "Role", cell: (user) => roleBadge(user.role) },
          { label: "Created", cell: (user) => when(user.created_at) },
        ],
        page.items,
      ),
      h(
        "nav",
        { class: "paging", "aria-label": "Pages of users" },
        cursor ? h("a", { href: links.users(pageLinks) }, "First page") : null,
        page.next ? h("a", { href: links.users({ ...pageLinks, cursor: page.next }), rel: "next" }, "Next page") : null,
      ),
    );
  } catch (error) {
    if (!signal.aborted) fill(results, problem(error));
  }
}
