// Confirming who one is, when a change needs a recent sign-in (the API's `reauthentication_required`): a modal
// dialog asks the way the session was made (the password, and a code of the authenticator app when the session was
// made with one; or a passkey), and keeps asking, with the API's words, until it works or the operator cancels. The
// session goes on either way.
import { closeButton, modal, showModal } from "./dialog.ts";
import { h, totpCodeInput } from "./dom.ts";
import { reauthenticate, reauthenticateWithPasskey, type SignInMethod } from "./session.ts";
import { describeError } from "./views/parts.ts";

const TITLE = "Confirm it is you";

/** The dialog's form: the password, the code when asked for, Cancel and Confirm. */
function identityForm(withCode: boolean) {
  const password = h("input", {
    id: "confirm-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
    autofocus: true,
  });
  const code = withCode ? totpCodeInput("confirm-code") : undefined;
  const submit = h("button", { type: "submit" }, "Confirm");
  const form = h(
    "form",
    { class: "sign-in", method: "dialog" },
    h("label", { for: password.id }, "Password"),
    password,
    code && h("label", { for: code.id }, "Code from your authenticator app"),
    code,
    h("div", { class: "actions" }, closeButton("Cancel", "cancel", { class: "quiet" }), submit),
  );
  return { form, password, code, submit };
}

export function confirmIdentity(madeWith: SignInMethod): Promise<boolean> {
  return madeWith === "passkey" ? confirmWithPasskey() : confirmWithPassword(madeWith === "code");
}

/** A session made with a passkey is confirmed with a passkey: a press of the button opens the browser's prompt. */
function confirmWithPasskey(): Promise<boolean> {
  const alert = h("div", { class: "problem", role: "alert", hidden: true });
  const use = h("button", { type: "button", autofocus: true }, "Use your passkey");
  const dialog = modal(
    "confirm-identity",
    TITLE,
    "This change needs a recent sign-in. Confirm with your passkey to go on.",
    alert,
    h("div", { class: "actions" }, closeButton("Cancel", "cancel", { class: "quiet" }), use),
  );
  use.addEventListener("click", () => {
    use.disabled = true;
    void reauthenticateWithPasskey()
      .then((refused) => {
        if (!refused) dialog.close("confirmed");
        else alert.textContent = refused.message;
      })
      .catch((error: unknown) => {
        alert.textContent = describeError(error);
      })
      .finally(() => {
        alert.hidden = alert.textContent === "";
        use.disabled = false;
        if (dialog.open) use.focus();
      });
  });
  return showModal(dialog).then((how) => how === "confirmed");
}

function confirmWithPassword(withCode: boolean): Promise<boolean> {
  const { form, password, code, submit } = identityForm(withCode);
  const alert = h("div", { class: "problem", role: "alert", hidden: true });
  const dialog = modal(
    "confirm-identity",
    TITLE,
    `This change needs a recent sign-in. Enter your password${withCode ? " and the code your authenticator app shows" : ""} to go on.`,
    alert,
    form,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void confirm();
  });

  async function confirm(): Promise<void> {
    submit.disabled = true;
    try {
      const refused = await reauthenticate({ password: password.value, ...(code ? { code: code.value } : {}) });
      if (!refused) {
        dialog.close("confirmed");
        return;
      }
      alert.textContent = refused.message;
      alert.hidden = false;
      password.value = "";
      if (code) code.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
    }
  }

  return showModal(dialog).then((how) => how === "confirmed");
}
