// The signed-in admin's own account: turning an authenticator app on. Where the API requires admins to use a
// second factor, this is the one page that works for an admin without one, and the way to get one.
import { read, type TotpEnrolment } from "../api.ts";
import { fill, h, totpCodeInput, viewHeading } from "../dom.ts";
import { adminApi, beginSession, hasSecondFactor } from "../session.ts";
import { notice, problemSlot, report } from "./parts.ts";

export function renderAccount(main: HTMLElement, signal: AbortSignal): void {
  document.title = "Your account — Coffee Shop admin";
  const heading = viewHeading("Your account");
  const box = h("div", { "aria-live": "polite" });
  fill(main, h("section", { class: "narrow" }, heading, h("h2", {}, "Authenticator app"), box));
  heading.focus();
  if (hasSecondFactor()) {
    fill(
      box,
      h("p", {}, "On: you signed in with a code of your authenticator app. To turn it off or replace it, ask another admin to reset it."),
    );
    return;
  }
  const problemBox = problemSlot();
  const password = h("input", {
    id: "enrol-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const start = h("button", { type: "submit" }, "Set up an authenticator app");
  // the API asks for the password too: a token alone must not put another person's app on the account
  const form = h("form", { class: "sign-in", method: "post" }, h("label", { for: password.id }, "Your password"), password, start);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    start.disabled = true;
    read(adminApi.POST("/auth/mfa/totp", { body: { current_password: password.value }, signal }))
      .then((enrolment) => {
        if (!signal.aborted) fill(box, problemBox, confirmForm(enrolment, box, signal));
      })
      .catch((error: unknown) => report(problemBox, error))
      .finally(() => (start.disabled = false));
  });
  fill(
    box,
    h("p", {}, "Off. A code of an app on your phone, asked for at each sign-in, keeps your account safe when your password is not."),
    problemBox,
    form,
  );
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
    button.disabled = true;
    read(adminApi.POST("/auth/mfa/totp/confirm", { body: { code: code.value } }))
      .then((enabled) => {
        // every other session ended: this one goes on as the fresh one the API answered, made with both factors
        beginSession(enabled, { secondFactor: true });
        fill(box, recoveryCodes(enabled.recovery_codes));
      })
      .catch((error: unknown) => report(problemBox, error))
      .finally(() => (button.disabled = false));
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
