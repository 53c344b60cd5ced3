// Asks before an action that cannot be undone, in a modal dialog: the browser keeps focus inside it,
// Escape cancels, and "Cancel" has the focus first so a stray Enter deletes nothing.
import { h, showModal } from "../dom.ts";

export function confirmAction(options: { title: string; message: string; confirm: string }): Promise<boolean> {
  const cancel = h("button", { type: "button", autofocus: true }, "Cancel");
  const confirm = h("button", { type: "button", class: "danger" }, options.confirm);
  const dialog = h(
    "dialog",
    { class: "confirm", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-message" },
    h("h2", { id: "confirm-title" }, options.title),
    h("p", { id: "confirm-message" }, options.message),
    h("div", { class: "actions" }, cancel, confirm),
  );
  cancel.addEventListener("click", () => dialog.close("cancel"));
  confirm.addEventListener("click", () => dialog.close("confirm"));
  return showModal(dialog).then((how) => how === "confirm");
}
