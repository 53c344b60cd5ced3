// Confirming who one is, when a change needs a recent sign-in (the API's `reauthentication_required`): a modal
// dialog asks for the password, and a code of the authenticator app when the session was made with one, and
// keeps asking, with the API's words, until it works or the operator cancels. The session goes on either way.
import { closeButton, modal, showModal } from "./dialog.ts";
import { h, totpCodeInput } from "./dom.ts";
import { reauthenticate } from "./session.ts";

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

export function confirmIdentity(withCode: boolean): Promise<boolean> {
  const { form, password, code, submit } = identityForm(withCode);
  const alert = h("div", { class: "problem", role: "alert", hidden: true });
  const dialog = modal(
    "confirm-identity",
    "Confirm it is you",
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
