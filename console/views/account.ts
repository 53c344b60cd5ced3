// The signed-in admin's own account: turning an authenticator app on, and their passkeys (adding one). Where the API
// requires admins to use a second factor, this is the one page that works for an admin without one, and the way to
// get one: an app, or a passkey to sign in with.
import { read, type TotpEnrolment } from "../api.ts";
import { fill, h, totpCodeInput, viewHeading, whileBusy } from "../dom.ts";
import { createPasskey, passkeysSupported } from "../passkeys.ts";
import { adminApi, beginSession, signInMethod } from "../session.ts";
import { passkeyTable } from "./passkey-table.ts";
import { field, loading, notice, problem, problemSlot, report } from "./parts.ts";

export function renderAccount(main: HTMLElement, signal: AbortSignal): void {
  document.title = "Your account — Coffee Shop admin";
  const heading = viewHeading("Your account");
  const box = h("div", { "aria-live": "polite" });
  const passkeys = h("div", { "aria-live": "polite" }, loading("Loading your passkeys…"));
  fill(main, h("section", { class: "narrow" }, heading, h("h2", {}, "Authenticator app"), box, h("h2", {}, "Passkeys"), passkeys));
  heading.focus();
  void showPasskeys(passkeys, signal);
  if (signInMethod() === "code") {
    fill(
      box,
      h("p", {}, "On: you signed in with a code of your authenticator app. To turn it off or replace it, ask another admin to reset it."),
    );
    return;
  }
  fill(
    box,
    h("p", {}, "Off. A code of an app on your phone, asked for at each sign-in, keeps your account safe when your password is not."),
    startForm(box, signal),
  );
}

/** Starting an enrolment asks for the password: a session alone must not be enough to add a factor. */
function startForm(box: HTMLElement, signal: AbortSignal): HTMLFormElement {
  const problemBox = problemSlot();
  const password = h("input", { name: "current_password", type: "password", autocomplete: "current-password", required: true });
  const start = h("button", { type: "submit" }, "Set up an authenticator app");
  const form = h("form", { class: "sign-in", method: "post" }, problemBox, field("Your password", password), start);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    whileBusy(start, () =>
      read(adminApi.POST("/auth/mfa/totp", { body: { current_password: password.value }, signal }))
        .then((enrolment) => {
          if (!signal.aborted) fill(box, confirmForm(enrolment, box, signal));
        })
        .catch((error: unknown) => report(problemBox, error)),
    );
  });
  return form;
}

/** The QR code as a picture: an image of the API's SVG, never markup in the page (the CSP allows no such thing). */
function qrImage(enrolment: TotpEnrolment, signal: AbortSignal): HTMLImageElement {
  const url = URL.createObjectURL(new Blob([enrolment.qr_svg], { type: "image/svg+xml" }));
  signal.addEventListener("abort", () => URL.revokeObjectURL(url));
  return h("img", { class: "qr", src: url, width: 200, height: 200, alt: "QR code of the authenticator app's secret" });
}

function confirmForm(enrolment: TotpEnrolment, box: HTMLElement, signal: AbortSignal): HTMLFormElement {
  const problemBox = problemSlot();
  const code = totpCodeInput("enrol-code");
  const button = h("button", { type: "submit" }, "Turn on");
  const form = h(
    "form",
    { class: "sign-in", method: "post" },
    h("p", {}, "Scan the code with your authenticator app, or type the secret into it:"),
    qrImage(enrolment, signal),
    h("code", { id: "enrol-secret", class: "secret" }, enrolment.secret),
    problemBox,
    h("label", { for: code.id }, "Code the app shows now"),
    code,
    button,
  );
  code.focus();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    whileBusy(button, () =>
      read(adminApi.POST("/auth/mfa/totp/confirm", { body: { code: code.value } }))
        .then((enabled) => {
          // every session ended: this one goes on as the fresh one the API answered, with the factor
          beginSession(enabled, "code");
          fill(box, recoveryCodes(enabled.recovery_codes));
        })
        .catch((error: unknown) => report(problemBox, error)),
    );
  });
  return form;
}

function recoveryCodes(codes: string[]): HTMLElement {
  return h(
    "div",
    {},
    notice("On: from now on, signing in asks for a code of the app."),
    h("h3", {}, "Recovery codes"),
    h("p", {}, "Each signs you in once in place of the app, if your phone is lost. Keep them somewhere safe: they are shown only now."),
    h("ul", { class: "recovery-codes", "aria-label": "Recovery codes" }, ...codes.map((one) => h("li", {}, h("code", {}, one)))),
  );
}

/** The admin's passkeys, and the form that adds one; `done` says what was just done. */
async function showPasskeys(box: HTMLElement, signal: AbortSignal, done?: string): Promise<void> {
  try {
    const list = await read(adminApi.GET("/auth/passkeys", { signal }));
    if (signal.aborted) return;
    fill(
      box,
      done === undefined ? null : notice(done),
      list.length === 0
        ? h("p", {}, "None yet. A passkey signs you in with your fingerprint, face or device PIN: nothing to type, steal or phish.")
        : passkeyTable("Your passkeys", list),
      passkeysSupported() ? addPasskeyForm(box, signal) : h("p", { class: "hint" }, "This browser cannot make passkeys."),
    );
  } catch (error) {
    if (!signal.aborted) fill(box, problem(error));
  }
}

/** Adding a passkey asks for the password too: a session alone must not be enough to add a way in. */
function addPasskeyForm(box: HTMLElement, signal: AbortSignal): HTMLFormElement {
  const problemBox = problemSlot();
  const name = h("input", { id: "passkey-name", name: "name", maxlength: 64, autocomplete: "off" });
  const password = h("input", {
    id: "passkey-password",
    name: "current_password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const add = h("button", { type: "submit" }, "Add a passkey");
  const form = h(
    "form",
    { class: "sign-in", method: "post" },
    problemBox,
    field("Its name (optional)", name),
    field("Password, to add a passkey", password),
    add,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    whileBusy(add, async () => {
      try {
        const credential = await createPasskey(await read(adminApi.POST("/auth/passkeys/registration/options", { signal })));
        const named = name.value.trim() === "" ? {} : { name: name.value };
        const added = await read(
          adminApi.POST("/auth/passkeys", { body: { credential, current_password: password.value, ...named }, signal }),
        );
        if (!signal.aborted) await showPasskeys(box, signal, `Added “${added.name}”: it signs you in with no password from now on.`);
      } catch (error) {
        if (!signal.aborted) report(problemBox, error);
      }
    });
  });
  return form;
}
