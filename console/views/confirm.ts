// Asks before an action that is hard or impossible to undo, in a modal dialog: Escape cancels, and "Cancel" has
// the focus first so a stray Enter changes nothing.
import { closeButton, modal, showModal } from "../dialog.ts";
import { h } from "../dom.ts";

export interface Question {
  title: string;
  /** What will happen, in full. */
  message: string;
  /** The confirming button's label. */
  confirm: string;
}

/** `action`, run only once the operator confirms it. */
export function confirmingFirst(question: Question, action: () => Promise<void>): () => Promise<void> {
  return async () => {
    if (await confirmed(question)) await action();
  };
}

async function confirmed(question: Question): Promise<boolean> {
  const dialog = modal(
    "confirm",
    question.title,
    question.message,
    h(
      "div",
      { class: "actions" },
      closeButton("Cancel", "cancel", { autofocus: true }),
      closeButton(question.confirm, "confirm", { class: "danger" }),
    ),
  );
  return (await showModal(dialog)) === "confirm";
}
