// Modal dialogs, for every question the console asks: the browser keeps focus inside one and closes it on Escape;
// the console names it by its title, describes it by its message, and gives focus back when it closes.
import { type Attributes, type Child, h } from "./dom.ts";

/** A dialog whose title and message are its accessible name and description; `id` prefixes theirs. */
export function modal(id: string, title: string, message: string, ...content: Child[]): HTMLDialogElement {
  return h(
    "dialog",
    { class: "confirm", "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-message` },
    h("h2", { id: `${id}-title` }, title),
    h("p", { id: `${id}-message` }, message),
    ...content,
  );
}

/** A button that closes the dialog it is in, which then answers `answer`. */
export function closeButton(label: string, answer: string, attributes: Attributes = {}): HTMLButtonElement {
  const button = h("button", { type: "button", ...attributes }, label);
  button.addEventListener("click", () => button.closest("dialog")?.close(answer));
  return button;
}

/**
 * Opens a modal dialog and answers how it was closed. Focus goes back to the control that opened it, so a
 * keyboard user carries on from there.
 */
export function showModal(dialog: HTMLDialogElement): Promise<string> {
  const opener = document.activeElement;
  document.body.append(dialog);
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener instanceof HTMLElement) opener.focus();
      resolve(dialog.returnValue);
    });
  });
}
