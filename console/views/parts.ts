// The pieces every view shares: loading, empty and error states, tables that read on a phone, badges.
import { ApiProblem, type UserRole, type UserStatus } from "../api.ts";
import { type Child, fill, h } from "../dom.ts";
import { ROLE_LABELS, STATUS_LABELS } from "../labels.ts";
import { describePasskeyError } from "../passkeys.ts";
import { StepUpDeclined } from "../session.ts";

/** A filter form's submit: its fields' trimmed values, by name, to `apply` (which moves to the filtered list). */
export function onFilter(form: HTMLFormElement, apply: (value: (name: string) => string | undefined) => void): void {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    apply((name) => {
      const entry = data.get(name);
      return typeof entry === "string" ? entry.trim() : undefined;
    });
  });
}

export function loading(text: string): HTMLParagraphElement {
  return h("p", { class: "state", role: "status" }, text);
}

export function empty(text: string): HTMLParagraphElement {
  return h("p", { class: "state empty" }, text);
}

/** What went wrong, in words: the API's own detail when it answered, or what to check when it did not. */
export function describeError(error: unknown): string {
  // the API names its own endpoint; here the way is a page of the console
  if (error instanceof ApiProblem && error.code === "mfa_enrollment_required") {
    return "Admins must use an authenticator app here: set one up under “Your account” above, and this page works at once.";
  }
  if (error instanceof ApiProblem) return error.message;
  if (error instanceof DOMException) return describePasskeyError(error);
  if (error instanceof TypeError) return "The API could not be reached. Check the connection and try again.";
  return "Something went wrong in the console. Reload the page and try again.";
}

export function problem(error: unknown): HTMLDivElement {
  return h("div", { class: "problem", role: "alert" }, describeError(error));
}

/** A place for an action's refusal, empty and hidden until `report` puts one there. */
export function problemSlot(): HTMLDivElement {
  return h("div", { class: "problem", role: "alert", tabindex: -1, hidden: true });
}

/**
 * Shows a refusal (an error, or a sentence of the console's own) in its slot, and moves focus there. A cancelled
 * step-up dialog is no refusal: focus stays on the control that opened it.
 */
export function report(slot: HTMLElement, error: unknown): void {
  if (error instanceof StepUpDeclined) return;
  fill(slot, typeof error === "string" ? error : describeError(error));
  slot.hidden = false;
  slot.focus();
}

/** A notice that something was done, announced to screen readers. */
export function notice(text: string): HTMLParagraphElement {
  return h("p", { class: "notice", role: "status", tabindex: -1 }, text);
}

let flash: string | undefined;

/** A notice for the next view to show, when an action leaves the view it was taken in (a deletion). */
export function setFlash(text: string): void {
  flash = text;
}

export function takeFlash(): HTMLParagraphElement | undefined {
  const text = flash;
  flash = undefined;
  return text === undefined ? undefined : notice(text);
}

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
}

/**
 * A table with a caption for screen readers; on a narrow screen each row becomes a card whose cells
 * name their column (data-label, shown by the CSS).
 */
export function table<T>(caption: string, columns: Column<T>[], rows: T[]): HTMLDivElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, ...columns.map((column) => h("th", { scope: "col" }, column.label)))),
      h(
        "tbody",
        {},
        ...rows.map((row) => h("tr", {}, ...columns.map((column) => h("td", { "data-label": column.label }, column.cell(row))))),
      ),
    ),
  );
}

export function statusBadge(status: UserStatus): HTMLSpanElement {
  return h("span", { class: `badge status-${status}` }, STATUS_LABELS[status]);
}

export function roleBadge(role: UserRole): HTMLSpanElement {
  return h("span", { class: `badge role-${role}` }, ROLE_LABELS[role]);
}

/**
 * A control with its label, tied by id rather than by nesting: a label around a control would fold the
 * control's options or value into its accessible name.
 */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement, attributes: { class?: string } = {}): HTMLDivElement {
  control.id ||= `field-${control.name}`;
  return h("div", { class: ["field", attributes.class].filter(Boolean).join(" ") }, h("label", { for: control.id }, label), control);
}

/** A labelled <select>; `selected` picks the option whose value it equals. */
export function select(label: string, name: string, options: [value: string, label: string][], selected: string): HTMLDivElement {
  return field(label, h("select", { name }, ...options.map(([value, text]) => h("option", { value, selected: value === selected }, text))));
}
