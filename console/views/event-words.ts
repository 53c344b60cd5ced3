// An audit event as a sentence an operator reads at a glance: who did what to whom, people named by their address
// and linked to their page ("ada@… ended 1 session of bob@…", "Sign-in refused for bob@…: wrong password, the 4th
// in a row"). Each type's words are a function of the event; the table covers every type (the compiler checks).
import type { AuthEvent, AuthEventType } from "../api.ts";
import { type Child, h } from "../dom.ts";
import { when } from "../format.ts";
import { isUserRole, isUserStatus, ROLE_LABELS, STATUS_LABELS } from "../labels.ts";
import { links } from "../router.ts";

/** What a sentence is made of: the account and the actor as links, and the event's details. */
interface Parts {
  account: Child;
  actor: Child;
  /** The actor is the account's own owner. */
  own: boolean;
  text: (key: string) => string;
  count: (key: string) => number;
}

type Words = (parts: Parts) => Child[];

function person(id: number | null, email: string | null, pseudonym: string | null): Child {
  if (id !== null) return h("a", { href: links.user(id) }, email ?? `account #${id}`);
  return pseudonym === null ? "someone" : "an erased account";
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th");
  return `${n}${suffix}`;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/** What a password or a code was asked for, when not a sign-in. */
const DURING: Record<string, string> = {
  login: "at sign-in",
  step_up: "while confirming it was them",
  password_change: "while changing their password",
  email_change: "while changing their address",
  mfa_change: "while changing their second factor",
  identity_link: "while linking a provider",
  enrolment: "while setting up an authenticator app",
  disable: "while turning their second factor off",
};

const REFUSALS: Record<string, string> = {
  unverified: "the address is not proved yet",
  disabled: "the account is disabled",
  pending_deletion: "the account is being deleted",
  throttled: "too many wrong passwords, the next try has to wait",
  locked: "the account is locked after 100 wrong passwords",
};

function refusedPassword(p: Parts): Child[] {
  const reason = p.text("reason");
  if (reason === "unknown_address") return ["Sign-in refused: no account has ", p.text("email")];
  const during = p.text("during");
  const start: Child[] = during
    ? ["Password refused for ", p.account, ` ${DURING[during] ?? during}`]
    : ["Sign-in refused for ", p.account];
  if (reason !== "wrong_password") return [...start, `: ${REFUSALS[reason] ?? reason}`];
  const inARow = p.count("in_a_row");
  const device = p.text("run") === "device" ? " on that device" : "";
  return [...start, `: wrong password${inARow > 0 ? `, the ${ordinal(inARow)} in a row${device}` : ""}`];
}

function signedIn(p: Parts): Child[] {
  const how = { totp: " with an authenticator code", recovery_code: " with a recovery code" }[p.text("second_factor")];
  if (p.text("by") === "identity") return [p.account, " signed in through an identity provider"];
  return [p.account, " signed in", how ?? ""];
}

function endedSessions(p: Parts): Child[] {
  const all = p.text("all") === "true";
  if (p.own) return [p.account, all ? " signed out everywhere" : " ended one of their sessions"];
  return [p.actor, all ? " ended every session of " : " ended 1 session of ", p.account];
}

/** A role or a status in the console's words (as the API spells it, should it be one the console does not know). */
const LABEL = {
  role: (value: string) => (isUserRole(value) ? ROLE_LABELS[value] : value),
  status: (value: string) => (isUserStatus(value) ? STATUS_LABELS[value] : value),
};

/** A change of a role or a status, in the console's words for both. */
function changed(what: "role" | "status"): Words {
  const label = LABEL[what];
  return (p) => [p.actor, ` changed the ${what} of `, p.account, ` from ${label(p.text("from"))} to ${label(p.text("to"))}`];
}

const CODE_KINDS: Record<string, string> = { totp: "authenticator", verify: "verification", reset_password: "password-reset" };

/** What an export of the users list was asked for: its filters in words ("search “ada”, status Disabled"). */
function exportedList(p: Parts): Child[] {
  const asked = [
    p.text("search") && `search “${p.text("search")}”`,
    p.text("email") && `addresses starting “${p.text("email")}”`,
    p.text("status") && `status ${LABEL.status(p.text("status"))}`,
    p.text("role") && `role ${LABEL.role(p.text("role"))}`,
  ].filter(Boolean);
  return [p.actor, ` exported the users list as CSV${asked.length > 0 ? ` (${asked.join(", ")})` : ""}`];
}

const WORDS: Record<AuthEventType, Words> = {
  signed_up: (p) => {
    const by = p.text("by");
    if (by === "operator") return [p.account, " was created by an operator"];
    return [p.account, by === "signup" ? " signed up" : ` signed up with ${by}`];
  },
  email_verified: (p) => [p.account, " proved their address"],
  login_succeeded: signedIn,
  login_failed: refusedPassword,
  refresh_replayed: (p) => ["A refresh token of ", p.account, " was presented twice at once by one client (allowed)"],
  refresh_reuse_detected: (p) => ["A used refresh token of ", p.account, " was presented again: that session ended"],
  logged_out: (p) => [p.account, " signed out"],
  session_ended: endedSessions,
  password_reset_requested: (p) => ["A password-reset code was sent to ", p.account],
  password_reset_completed: (p) => [p.account, " reset their password with a code"],
  password_changed: (p) => [p.account, " changed their password"],
  email_change_requested: (p) => [p.account, ` asked to move to ${p.text("to")}`],
  email_changed: (p) =>
    p.text("by") === "admin"
      ? [p.actor, " changed the address of ", p.account, ` from ${p.text("from")} to ${p.text("to")}`]
      : [p.account, ` moved from ${p.text("from")} to ${p.text("to")}`],
  role_changed: changed("role"),
  status_changed: changed("status"),
  user_deleted: (p) => (p.text("by") === "admin" ? [p.actor, " deleted ", p.account] : [p.account, " was erased, as its owner asked"]),
  codes_paused: (p) => [`The ${CODE_KINDS[p.text("scope")] ?? p.text("scope")} codes of `, p.account, " were paused after 100 wrong ones"],
  mfa_enabled: (p) => [p.account, " turned their second factor on"],
  mfa_disabled: (p) => [p.account, " turned their second factor off"],
  mfa_reset: (p) => [p.actor, " reset the second factor of ", p.account],
  mfa_failed: (p) => ["Wrong second-factor code for ", p.account, ` ${DURING[p.text("during")] ?? ""}`.trimEnd()],
  recovery_code_used: (p) => [p.account, " used a recovery code"],
  reauthenticated: (p) => [p.account, " confirmed it was them"],
  device_replayed: (p) => ["An old device token of ", p.account, " was presented: that device was signed out"],
  device_forgotten: (p) => (p.own ? [p.account, " signed a device out"] : [p.actor, " signed a device of ", p.account, " out"]),
  sign_in_reported: (p) => [p.account, " reported a sign-in as not theirs: that device was signed out"],
  deletion_requested: (p) => [p.account, " asked to delete their account, erased ", when(p.text("due_at") || null)],
  deletion_cancelled: (p) => [p.account, " cancelled their account's deletion"],
  data_exported: (p) => (p.own ? [p.account, " downloaded their data"] : [p.actor, " exported the data of ", p.account]),
  passkey_added: (p) => [p.account, ` added the passkey “${p.text("name")}”`],
  passkey_renamed: (p) => [p.account, ` renamed a passkey “${p.text("name")}”`],
  passkey_removed: (p) => (p.text("by") === "admin" ? [p.actor, " removed a passkey of ", p.account] : [p.account, ` removed a passkey`]),
  passkey_failed: (p) => ["A passkey of ", p.account, ` was refused (${p.text("reason").replaceAll("_", " ")})`],
  identity_linked: (p) => [p.account, ` linked their ${p.text("provider")} sign-in`],
  identity_unlinked: (p) =>
    p.text("by") === "admin"
      ? [p.actor, ` unlinked the ${p.text("provider")} sign-in of `, p.account]
      : [p.account, ` unlinked their ${p.text("provider")} sign-in`],
  users_exported: exportedList,
  account_unlocked: (p) => [
    p.actor,
    " unlocked ",
    p.account,
    ` (${plural(p.count("wrong_in_a_row"), "wrong password")} in a row${p.text("locked") === "true" ? ", locked" : ""})`,
  ],
};

/** The event as a sentence, with the account and the actor linked to their pages. */
export function eventSentence(event: AuthEvent): Child[] {
  const details = event.details;
  const text = (key: string) => {
    const value = details[key];
    return typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? String(value) : "";
  };
  return WORDS[event.type]({
    account: person(event.user_id, event.user_email, event.user_pseudonym),
    actor: person(event.actor_id, event.actor_email, event.actor_pseudonym),
    own: event.actor_id !== null && event.actor_id === event.user_id,
    text,
    count: (key) => Number(text(key)) || 0,
  });
}
