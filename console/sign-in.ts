// Signing in: the form, and the one function that reads the API's answer to a login.
import { ApiProblem, read, type TokenPair, type User } from "./api.ts";
import { fill, h, viewHeading } from "./dom.ts";
import { adminApi, beginSession, publicApi, signOut } from "./session.ts";
import { describeError } from "./views/parts.ts";

/**
 * What a login answer means for the console. A second factor, once the API has one, is one more
 * outcome here (the answer asking for it) and one more step in `submit` below; the compiler then
 * points at every place that must handle it.
 */
export type LoginOutcome = { kind: "signed_in"; tokens: TokenPair } | { kind: "refused"; message: string };

/** Reads the answer to POST /auth/login. */
export function handleLoginAnswer(answer: { data?: TokenPair; error?: unknown; response: Response }): LoginOutcome {
  if (answer.data) return { kind: "signed_in", tokens: answer.data };
  return { kind: "refused", message: new ApiProblem(answer.response, answer.error).message };
}

function notAdmin(me: User): string {
  return `${me.email} is not an admin account. This console is for the shop's admins: sign in with an admin account, or ask an admin to give yours the admin role.`;
}

export interface SignInOptions {
  /** Why the form is shown again: an idle sign-out, an ended session, a refusal. */
  reason?: string | undefined;
  onSignedIn: (me: User) => void;
}

export function renderSignIn(main: HTMLElement, options: SignInOptions): void {
  document.title = "Sign in — Coffee Shop admin";
  const alert = h("div", { class: "problem", role: "alert", hidden: options.reason === undefined }, options.reason);
  const email = h("input", {
    id: "sign-in-email",
    name: "email",
    type: "email",
    autocomplete: "username",
    required: true,
    spellcheck: "false",
  });
  const password = h("input", {
    id: "sign-in-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const button = h("button", { type: "submit" }, "Sign in");
  // method="post": should the script ever not run, the browser must not put the password in the URL
  const form = h(
    "form",
    { class: "sign-in", method: "post" },
    h("label", { for: email.id }, "Email"),
    email,
    h("label", { for: password.id }, "Password"),
    password,
    button,
  );
  const heading = viewHeading("Sign in");
  fill(
    main,
    h("section", { class: "narrow" }, heading, h("p", {}, "Users, sessions and the audit trail of the Coffee Shop API."), alert, form),
  );
  email.focus();

  const refuse = (message: string) => {
    fill(alert, message);
    alert.hidden = false;
    password.value = "";
    password.focus();
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void submit();
  });

  async function submit(): Promise<void> {
    button.disabled = true;
    fill(button, "Signing in…");
    try {
      const outcome = handleLoginAnswer(await publicApi.POST("/auth/login", { body: { email: email.value, password: password.value } }));
      switch (outcome.kind) {
        case "refused":
          refuse(outcome.message);
          return;
        case "signed_in": {
          beginSession(outcome.tokens);
          const me = await read(adminApi.GET("/users/me"));
          // the API refuses every admin route to others (403); say so before showing an empty console
          if (me.role !== "admin") await signOut(notAdmin(me));
          else options.onSignedIn(me);
          return;
        }
      }
    } catch (error) {
      const message = describeError(error);
      // a session that began but could not be used ends here: the form shows again with the reason
      await signOut(message);
      refuse(message);
    } finally {
      button.disabled = false;
      fill(button, "Sign in");
    }
  }
}
