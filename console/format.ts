// How values read on screen: dates in the viewer's own time zone and locale, names, event details.
import type { AuthEvent, User } from "./api.ts";
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

function detailValue(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "string" || typeof value === "number") return String(value);
  return JSON.stringify(value);
}

/** An event's details in one line: "verified → disabled · by admin". */
export function eventDetails(event: AuthEvent): string {
  const { from, to, ...rest } = event.details;
  const parts: string[] = [];
  if (from !== undefined || to !== undefined)
    parts.push(from === undefined ? `→ ${detailValue(to)}` : `${detailValue(from)} → ${detailValue(to)}`);
  for (const [key, value] of Object.entries(rest)) parts.push(`${key.replaceAll("_", " ")}: ${detailValue(value)}`);
  return parts.join(" · ") || "—";
}
