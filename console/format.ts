// How values read on screen: dates in the viewer's own time zone and locale, names.
import type { AdminUser, User } from "./api.ts";
import { h } from "./dom.ts";

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** The viewer's time zone, as the browser reports it (e.g. "Europe/Lisbon"). */
export const viewerTimeZone = dateTime.resolvedOptions().timeZone;

/** A <time> in the viewer's time zone, with the exact UTC instant on hover. */
export function when(iso: string | null): HTMLTimeElement | string {
  if (iso === null) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h("time", { datetime: iso, title: date.toISOString() }, dateTime.format(date));
}

function givenNames(user: User): string {
  return [user.first_name, user.last_name].filter((part) => part !== null && part !== "").join(" ");
}

export function fullName(user: User): string {
  return givenNames(user) || "—";
}

/** Who an account is, in a sentence: "Grace Hopper (grace@example.com)", or the address alone when it has no name. */
export function person(user: User): string {
  const name = givenNames(user);
  return name ? `${name} (${user.email})` : user.email;
}

/** Where and how they last signed in: the time, then the client in words and its network. */
export function lastSignIn(user: AdminUser): HTMLSpanElement | string {
  const last = user.sign_in.last;
  if (last === null) return "Never";
  return h(
    "span",
    { class: "last-sign-in" },
    when(last.at),
    h("span", { class: "hint", title: last.user_agent ?? "" }, `${last.client} · ${last.client_address ?? "network unknown"}`),
  );
}
