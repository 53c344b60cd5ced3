// A user's page, "Passkeys" and "Identity providers": their other ways in, each with the button that takes one
// away when it is lost or in someone else's hands (it asks first; then every session of theirs ends).
import { type Identity, type Passkey, perform, read, type User } from "../api.ts";
import { actionButton, h } from "../dom.ts";
import { person } from "../format.ts";
import { adminApi } from "../session.ts";
import { confirmingFirst } from "./confirm.ts";
import { identityTable } from "./identity-table.ts";
import { passkeyTable } from "./passkey-table.ts";
import { type Column, empty, problemSlot } from "./parts.ts";

export interface WaysInControls {
  user: User;
  /** The admin's own account: only another admin takes a way in away from it. */
  own: boolean;
  signal: AbortSignal;
  /** Runs a change, then shows the page again with `done`; a refusal shows in `problemBox`, in the API's words. */
  acting: (problemBox: HTMLElement) => (work: () => Promise<unknown>, done: string) => Promise<void>;
}

/** How one kind of way in is shown, and taken away. */
interface Kind<T> {
  none: string;
  yours: string;
  theirs: string;
  table: (caption: string, list: T[], action?: Column<T>) => HTMLElement;
  /** The button's words: "Remove", "Unlink", and their past. */
  verb: string;
  done: string;
  confirm: string;
  /** It, in a sentence: "the passkey “Ada's phone”" (`quoted`), or for a screen reader's button name. */
  named: (item: T, quoted: boolean) => string;
  takeAway: (item: T) => Promise<unknown>;
}

function listOf<T>(controls: WaysInControls, kind: Kind<T>, list: T[]): Node[] {
  const { user, own } = controls;
  if (list.length === 0) return [empty(kind.none)];
  if (own)
    return [kind.table(kind.yours, list), h("p", { class: "hint" }, `Only another admin can ${kind.verb.toLowerCase()} yours here.`)];
  const problemBox = problemSlot();
  const act = controls.acting(problemBox);
  const button = (item: T) => {
    const question = {
      title: `${kind.verb} ${kind.named(item, true)} of ${person(user)}?`,
      message: "It stops signing them in at once, every session of theirs ends, and they are told by mail.",
      confirm: kind.confirm,
    };
    const takingAway = () =>
      act(() => kind.takeAway(item), `${kind.done} ${kind.named(item, true)}: every session of ${user.email} has ended.`);
    return actionButton(kind.verb, confirmingFirst(question, takingAway), { "aria-label": `${kind.verb} ${kind.named(item, false)}` });
  };
  return [problemBox, kind.table(kind.theirs, list, { label: kind.verb, cell: button })];
}

/** Their passkeys, each with Remove (a lost or stolen device). */
export async function userPasskeys(controls: WaysInControls): Promise<Node[]> {
  const id = String(controls.user.id);
  const list = await read(adminApi.GET("/users/{id}/passkeys", { params: { path: { id } }, signal: controls.signal }));
  return listOf<Passkey>(
    controls,
    {
      none: "No passkeys.",
      yours: "Your passkeys",
      theirs: `Passkeys of ${controls.user.email}`,
      table: passkeyTable,
      verb: "Remove",
      done: "Removed",
      confirm: "Remove passkey",
      named: (passkey, quoted) => (quoted ? `the passkey “${passkey.name}”` : `the passkey ${passkey.name}`),
      takeAway: (passkey) =>
        perform(adminApi.DELETE("/users/{id}/passkeys/{passkey_id}", { params: { path: { id, passkey_id: passkey.id } } })),
    },
    list,
  );
}

/** Their linked identity providers, each with Unlink (a provider account taken over or lost). */
export async function userIdentities(controls: WaysInControls): Promise<Node[]> {
  const id = String(controls.user.id);
  const list = await read(adminApi.GET("/users/{id}/identities", { params: { path: { id } }, signal: controls.signal }));
  return listOf<Identity>(
    controls,
    {
      none: "No identity provider is linked.",
      yours: "Your identity providers",
      theirs: `Identity providers of ${controls.user.email}`,
      table: identityTable,
      verb: "Unlink",
      done: "Unlinked",
      confirm: "Unlink provider",
      named: (identity) => `the ${identity.provider} sign-in`,
      takeAway: (identity) =>
        perform(adminApi.DELETE("/users/{id}/identities/{identity_id}", { params: { path: { id, identity_id: identity.id } } })),
    },
    list,
  );
}
