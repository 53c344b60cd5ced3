// A user's page, "Sign-in": why they cannot sign in (the badges of standing.ts) and the buttons an admin answers
// the call with: unlock (a lock or a wait of wrong passwords), a password-reset code, the second factor's reset.
import { type AdminUser, perform } from "../api.ts";
import { actionButton, h } from "../dom.ts";
import { person } from "../format.ts";
import { adminApi, publicApi } from "../session.ts";
import { confirmingFirst } from "./confirm.ts";
import { reasonBadge, signInReasons } from "./standing.ts";

export interface SignInControls {
  user: AdminUser;
  /** The admin's own account: only another admin acts on it. */
  own: boolean;
  /** Runs a change, then shows the page again with `done`; a refusal shows in the API's words. */
  act: (work: () => Promise<unknown>, done: string) => Promise<void>;
}

const path = (user: AdminUser) => ({ params: { path: { id: String(user.id) } } });

/** Something to clear: a lock or a wait of the account, or a device of theirs its own wrong passwords block. */
function blocked(user: AdminUser): boolean {
  const { password } = user.sign_in;
  return password.standing !== "open" || password.blocked_devices > 0;
}

function unlockButton({ user, act }: SignInControls): HTMLButtonElement {
  const wrong = user.sign_in.password.wrong_in_a_row;
  const unlock = () =>
    act(
      () => perform(adminApi.POST("/users/{id}/unlock", path(user))),
      "Unlocked: their next password is judged at once, and they were mailed that you did it.",
    );
  const question = {
    title: `Unlock ${person(user)}?`,
    message:
      `Their ${wrong === 1 ? "wrong password" : `${wrong} wrong passwords`} in a row (and any of their devices' own) are cleared, so ` +
      "the next password they enter is judged at once; they are mailed that you did it. Only do this once you know it is them asking.",
    confirm: "Unlock",
  };
  return actionButton("Unlock…", confirmingFirst(question, unlock));
}

function resetCodeButton({ user, act }: SignInControls): HTMLButtonElement {
  return actionButton("Send a password-reset code", () =>
    act(
      () => perform(publicApi.POST("/auth/password/forgot", { body: { email: user.email } })),
      `A password-reset code is on its way to ${user.email} (unless one went there in the last minute). It is good for 10 minutes.`,
    ),
  );
}

function resetFactorButton({ user, act }: SignInControls): HTMLButtonElement {
  const reset = () =>
    act(
      () => perform(adminApi.DELETE("/users/{id}/mfa", path(user))),
      "Second factor reset: their sessions have ended, and they sign in with their password alone until they set up an app again.",
    );
  const question = {
    title: `Reset the second factor of ${person(user)}?`,
    message:
      "Their authenticator app and recovery codes stop working, every session of theirs ends at once, and they are mailed. " +
      "They sign in with their password alone until they set up an app again.",
    confirm: "Reset second factor",
  };
  return actionButton("Reset second factor…", confirmingFirst(question, reset), { class: "danger" });
}

/** The reasons, each a badge in a list, and the buttons that apply to them. */
export function signInPanel(controls: SignInControls): Node[] {
  const { user, own } = controls;
  const reasons = h("ul", { class: "reasons" }, ...signInReasons(user).map((reason) => h("li", {}, reasonBadge(reason))));
  if (own) return [reasons];
  const buttons = [
    blocked(user) && unlockButton(controls),
    // a disabled account, or one being deleted, is sent no code
    (user.status === "verified" || user.status === "unverified") && resetCodeButton(controls),
    user.sign_in.second_factor.standing !== "off" && resetFactorButton(controls),
  ].filter((button) => button !== false);
  return buttons.length === 0 ? [reasons] : [reasons, h("div", { class: "actions" }, ...buttons)];
}
