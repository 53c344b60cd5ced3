// Why someone cannot sign in, as badges that give the reason and until when: in the users table, and on a user's
// page with the buttons that lift what can be lifted (unlock, a reset code, the factor's reset).
import type { AdminUser } from "../api.ts";
import { type Child, h } from "../dom.ts";
import { when } from "../format.ts";

/** How much a reason stands in the way: `bad` shuts them out, `warn` for now, `info` is how they sign in. */
type Tone = "bad" | "warn" | "info" | "ok";

export interface Reason {
  tone: Tone;
  /** The reason in words, with its "until when". */
  text: Child[];
}

const CODE_KINDS = { verify: "Verification", reset_password: "Password-reset" } as const;

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** A reason, when `holds`. */
function reasonIf(holds: boolean, tone: Tone, ...text: Child[]): Reason[] {
  return holds ? [{ tone, text }] : [];
}

/** Every reason that stands between the user and a sign-in now, worst first, then how they sign in. */
export function signInReasons(user: AdminUser): Reason[] {
  const { password, second_factor: factor, codes_paused: codes } = user.sign_in;
  const wrong = plural(password.wrong_in_a_row, "wrong password");
  const reasons = [
    ...reasonIf(user.status === "disabled", "bad", "Disabled by an admin"),
    ...reasonIf(user.status === "pending_deletion", "bad", "Being deleted: erased ", when(user.deletion_due_at)),
    ...reasonIf(user.status === "unverified", "warn", "Address not proved yet"),
    ...reasonIf(password.standing === "locked", "bad", `Locked: ${wrong} in a row, until an unlock or a reset`),
    ...reasonIf(password.standing === "waiting", "warn", "Waiting until ", when(password.until), ` after ${wrong}`),
    ...reasonIf(password.blocked_devices > 0, "warn", `Wrong passwords block ${plural(password.blocked_devices, "device")} of theirs`),
    ...reasonIf(factor.standing === "paused", "bad", "Second factor paused until ", when(factor.until), " after 100 wrong codes"),
    ...codes.flatMap((paused) => reasonIf(true, "warn", `${CODE_KINDS[paused.purpose]} codes paused until `, when(paused.until))),
  ];
  return [
    ...(reasons.length > 0 ? reasons : reasonIf(true, "ok", "Can sign in")),
    ...reasonIf(factor.standing === "on", "info", "Second factor on"),
  ];
}

export function reasonBadge(reason: Reason): HTMLSpanElement {
  return h("span", { class: `badge tone-${reason.tone}` }, ...reason.text);
}

/** The reasons as a list of badges, for a cell of the users table. */
export function standingBadges(user: AdminUser): HTMLUListElement {
  return h("ul", { class: "badges" }, ...signInReasons(user).map((reason) => h("li", {}, reasonBadge(reason))));
}
