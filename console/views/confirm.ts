// Asks before an action that cannot be undone, in a modal dialog: Escape cancels, and "Cancel" has the focus
// first so a stray Enter deletes nothing.
import { closeButton, modal, showModal } from "../dialog.ts";
import { h } from "../dom.ts";

export async function confirmAction(options: { title: string; message: string; confirm: string }): Promise<boolean> {
  const dialog = modal(
    "confirm",
    options.title,
    options.message,
    h(
      "div",
      { class: "actions" },
      closeButton("Cancel", "cancel", { autofocus: true }),
      closeButton(options.confirm, "confirm", { class: "danger" }),
    ),
  );
  return (await showModal(dialog)) === "confirm";
}
