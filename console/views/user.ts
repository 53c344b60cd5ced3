// One user: their details, what an admin can do to the account, their live sessions and their events.
import {
  type AdminUser,
  type AuthEvent,
  perform,
  read,
  readPage,
  type Session,
  type User,
  type UserRole,
  type UserStatus,
} from "../api.ts";
import { actionButton, fill, h, viewHeading, whileBusy } from "../dom.ts";
import { fullName, lastSignIn, person, when } from "../format.ts";
import { isUserRole, ROLE_LABELS } from "../labels.ts";
import { links } from "../router.ts";
import { adminApi, signOut } from "../session.ts";
import { confirmingFirst } from "./confirm.ts";
import { eventTable } from "./event-table.ts";
import { signInPanel } from "./sign-in-panel.ts";
import { userIdentities, userPasskeys, type WaysInControls } from "./ways-in.ts";
import {
  type Column,
  empty,
  loading,
  notice,
  problem,
  problemSlot,
  report,
  roleBadge,
  select,
  setFlash,
  statusBadge,
  table,
} from "./parts.ts";

const EVENTS_PAGE_SIZE = 20;

interface UserView {
  main: HTMLElement;
  id: string;
  /** The signed-in admin. */
  me: User;
  signal: AbortSignal;
}

export async function renderUser(view: UserView, done?: string): Promise<void> {
  const { main, id, signal } = view;
  const back = h("p", { class: "back" }, h("a", { href: links.users() }, "← All users"));
  fill(main, back, loading("Loading the user…"));
  let user: AdminUser;
  try {
    user = await read(adminApi.GET("/users/{id}", { params: { path: { id } }, signal }));
  } catch (error) {
    if (signal.aborted) return;
    const heading = viewHeading(`User #${id}`);
    fill(main, back, heading, problem(error));
    heading.focus();
    return;
  }
  if (signal.aborted) return;

  document.title = `${user.email} — Coffee Shop admin`;
  const heading = viewHeading(user.email);
  const doneNotice = done === undefined ? undefined : notice(done);
  fill(
    main,
    back,
    heading,
    doneNotice,
    section("Details", details(user)),
    section("Sign-in", ...signIn(view, user)),
    section("Account", accountActions(view, user)),
    section("Sessions", sessions(view, user)),
    section(
      "Passkeys",
      loadedPart(view, "passkeys", () => userPasskeys(waysIn(view, user))),
    ),
    section(
      "Identity providers",
      loadedPart(view, "identity providers", () => userIdentities(waysIn(view, user))),
    ),
    section("Events", events(view)),
  );
  (doneNotice ?? heading).focus();
}

function section(title: string, ...content: Node[]): HTMLElement {
  const id = `section-${title.toLowerCase()}`;
  return h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id }, title), ...content);
}

function details(user: AdminUser): HTMLDListElement {
  const rows: [string, Node | string][] = [
    ["Id", String(user.id)],
    ["Email", user.email],
    ["Name", fullName(user)],
    ["Status", statusBadge(user.status)],
    ["Role", roleBadge(user.role)],
    ["Created", when(user.created_at)],
    ["Last sign-in", lastSignIn(user)],
  ];
  return h("dl", { class: "details" }, ...rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

/** Why they cannot sign in, and the buttons that lift it. */
function signIn(view: UserView, user: AdminUser): Node[] {
  const problemBox = problemSlot();
  return [problemBox, ...signInPanel({ user, own: String(view.me.id) === view.id, act: acting(view, problemBox) })];
}

/** Runs an action, then shows the user again with what it did; a refusal is shown in the API's words. */
function acting(view: UserView, problemBox: HTMLElement) {
  return async (work: () => Promise<unknown>, done: string): Promise<void> => {
    try {
      await work();
      if (!view.signal.aborted) await renderUser(view, done);
    } catch (error) {
      if (view.signal.aborted) return;
      report(problemBox, error);
    }
  };
}

/** What the account's controls share: whose account, where a refusal shows, and how a change is made. */
interface AccountControls {
  view: UserView;
  user: User;
  problemBox: HTMLElement;
  act: ReturnType<typeof acting>;
  patch: (body: { status?: Exclude<UserStatus, "pending_deletion">; role?: UserRole }) => Promise<User>;
}

function accountActions(view: UserView, user: User): HTMLElement {
  const { id } = view;
  if (String(view.me.id) === id) {
    return h("p", {}, "This is your own account: only another admin can disable it, change its role or delete it.");
  }
  const problemBox = problemSlot();
  const controls: AccountControls = {
    view,
    user,
    problemBox,
    act: acting(view, problemBox),
    patch: (body) => read(adminApi.PATCH("/users/{id}", { params: { path: { id } }, body })),
  };
  const enableHint = user.status === "disabled" ? h("p", { class: "hint" }, "Enabling also marks the address as verified.") : null;
  return h(
    "div",
    {},
    problemBox,
    h("div", { class: "actions" }, statusButton(controls), deleteButton(controls)),
    enableHint,
    roleForm(controls),
  );
}

/** Enabling is done at once; disabling, which ends every session of theirs, asks first. */
function statusButton({ user, act, patch }: AccountControls): HTMLButtonElement {
  if (user.status === "disabled") {
    return actionButton("Enable account", () => act(() => patch({ status: "verified" }), "Enabled: they can log in again."));
  }
  const disable = () => act(() => patch({ status: "disabled" }), "Disabled: their sessions have ended and they cannot log in.");
  const question = {
    title: `Disable ${person(user)}?`,
    message: "Every session of theirs ends at once, and they cannot log in until an admin enables the account again.",
    confirm: "Disable account",
  };
  return actionButton("Disable account…", confirmingFirst(question, disable), { class: "danger" });
}

/** What a change of role does, asked before it is made: it ends their sessions, and an admin's role reaches every account. */
function roleQuestion(user: User, role: UserRole) {
  return {
    title: role === "admin" ? `Make ${person(user)} an admin?` : `Make ${person(user)} a user, no longer an admin?`,
    message:
      (role === "admin"
        ? "They will be able to read and change every account, this console included. "
        : "They lose this console and every admin right at once. ") +
      "Every session of theirs ends now; their next sign-in carries the new role.",
    confirm: "Change role",
  };
}

function roleForm({ user, problemBox, act, patch }: AccountControls): HTMLFormElement {
  const changeRole = h("button", { type: "submit" }, "Change role…");
  const form = h("form", { class: "inline", method: "post" }, select("Role", "role", Object.entries(ROLE_LABELS), user.role), changeRole);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const role = new FormData(form).get("role");
    if (typeof role !== "string" || !isUserRole(role)) return;
    if (role === user.role) {
      report(problemBox, `${user.email} already has the ${ROLE_LABELS[role]} role.`);
      return;
    }
    const change = () =>
      act(
        () => patch({ role }),
        `Role changed to ${ROLE_LABELS[role]}: their sessions have ended, and their next login carries the new role.`,
      );
    whileBusy(changeRole, confirmingFirst(roleQuestion(user, role), change));
  });
  return form;
}

function deleteButton({ view, user, problemBox }: AccountControls): HTMLButtonElement {
  const remove = async () => {
    try {
      await perform(adminApi.DELETE("/users/{id}", { params: { path: { id: view.id } } }));
      setFlash(`Deleted ${user.email}.`);
      location.hash = links.users();
    } catch (error) {
      if (view.signal.aborted) return;
      report(problemBox, error);
    }
  };
  const question = {
    title: `Delete ${person(user)}?`,
    message: "Their account goes at once, with every session and token. This cannot be undone.",
    confirm: "Delete user",
  };
  return actionButton("Delete user…", confirmingFirst(question, remove), { class: "danger" });
}

/** A part of the page that loads on its own: "Loading…" first, then what `show` makes of the answer, or the problem. */
function loadedPart(view: UserView, what: string, show: () => Promise<Node[]>): HTMLElement {
  const box = h("div", { "aria-live": "polite" }, loading(`Loading ${what}…`));
  void show().then(
    (nodes) => {
      if (!view.signal.aborted) fill(box, ...nodes);
    },
    (error: unknown) => {
      if (!view.signal.aborted) fill(box, problem(error));
    },
  );
  return box;
}

function sessions(view: UserView, user: User): HTMLElement {
  return loadedPart(view, "sessions", async () =>
    String(view.me.id) === view.id
      ? ownSessions(view, await read(adminApi.GET("/auth/sessions", { signal: view.signal })))
      : userSessions(
          view,
          user,
          await read(adminApi.GET("/users/{id}/sessions", { params: { path: { id: view.id } }, signal: view.signal })),
        ),
  );
}

function sessionColumns(): Column<Session>[] {
  return [
    { label: "Started", cell: (session) => when(session.created_at) },
    { label: "Last refreshed", cell: (session) => when(session.last_refreshed_at) },
    { label: "Client", cell: (session) => h("span", { class: "agent" }, session.user_agent || "—") },
    { label: "Device", cell: (session) => deviceCell(session) },
    { label: "From", cell: (session) => session.client_address ?? "—" },
  ];
}

/** Whether the sign-in came from a device the account knew, and that device's last sign-in. */
function deviceCell(session: Session): string {
  if (!session.device) return "—";
  return `${session.device.known ? "Known" : "New then"}; last sign-in ${when(session.device.last_sign_in_at)}`;
}

/** A button that ends one session, named by when it started for those who cannot see its row. */
function endButton(session: Session, end: () => Promise<void>): HTMLButtonElement {
  return actionButton("End", end, { "aria-label": `End the session started ${new Date(session.created_at).toLocaleString()}` });
}

function userSessions(view: UserView, user: User, list: Session[]): Node[] {
  if (list.length === 0) return [empty("No live sessions.")];
  const problemBox = problemSlot();
  const act = acting(view, problemBox);
  const end = (session: Session) =>
    endButton(session, () =>
      act(
        () => perform(adminApi.DELETE("/users/{id}/sessions/{session_id}", { params: { path: { id: view.id, session_id: session.id } } })),
        "That session has ended; their others go on.",
      ),
    );
  const endEvery = () =>
    act(
      () => perform(adminApi.DELETE("/users/{id}/sessions", { params: { path: { id: view.id } } })),
      `Every session of ${user.email} has ended.`,
    );
  const question = {
    title: `End every session of ${person(user)}?`,
    message:
      "They are signed out at once on every device and app, and each device signs in as a new one next time. Their " +
      "password and second factor stay as they are.",
    confirm: "End all sessions",
  };
  const endAll = actionButton("End all sessions…", confirmingFirst(question, endEvery), { class: "danger" });
  return [
    problemBox,
    table(`Live sessions of ${user.email}`, [...sessionColumns(), { label: "End", cell: end }], list),
    h("div", { class: "actions" }, endAll),
  ];
}

/** The admin's own sessions: each can be ended on its own, and all of them at once with this one. */
function ownSessions(view: UserView, list: Session[]): Node[] {
  const problemBox = problemSlot();
  const act = acting(view, problemBox);
  const end = (session: Session) =>
    session.current
      ? h("span", { class: "hint" }, "This browser")
      : endButton(session, () =>
          act(() => perform(adminApi.DELETE("/auth/sessions/{id}", { params: { path: { id: session.id } } })), "That session has ended."),
        );
  const everywhere = actionButton("Sign out everywhere", async () => {
    try {
      await perform(adminApi.POST("/auth/logout/all"));
      await signOut("You signed out of every session.");
    } catch (error) {
      report(problemBox, error);
    }
  });
  return [
    problemBox,
    table("Your live sessions", [...sessionColumns(), { label: "End", cell: end }], list),
    h("div", { class: "actions" }, everywhere),
  ];
}

/** What the "ways in" sections need of the page. */
function waysIn(view: UserView, user: User): WaysInControls {
  return { user, own: String(view.me.id) === view.id, signal: view.signal, acting: (problemBox) => acting(view, problemBox) };
}

function events(view: UserView): HTMLElement {
  const box = h("div", { "aria-live": "polite" }, loading("Loading events…"));
  const shown: AuthEvent[] = [];
  const load = async (cursor?: string) => {
    try {
      const page = await readPage(
        adminApi.GET("/users/{id}/events", {
          params: { path: { id: view.id }, query: { limit: EVENTS_PAGE_SIZE, cursor } },
          signal: view.signal,
        }),
      );
      if (view.signal.aborted) return;
      shown.push(...page.items);
      const more = page.next;
      fill(
        box,
        shown.length === 0 ? empty("No events about this account.") : eventTable(shown),
        more ? actionButton("Show older events", () => load(more)) : null,
      );
    } catch (error) {
      if (!view.signal.aborted) box.append(problem(error));
    }
  };
  void load();
  return box;
}
