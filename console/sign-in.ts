// Signing in: the password form, the second factor's form when the account has one, a passkey in place of both,
// and the one function that reads the API's answer to any of them.
import { ApiProblem, type IdentityProvider, type MfaChallenge, read, type SignedIn, type TokenPair, type User } from "./api.ts";
import { deviceToken, keepDeviceToken } from "./device.ts";
import { fill, h, viewHeading } from "./dom.ts";
import { passkeysSupported, usePasskey } from "./passkeys.ts";
import { goToProvider, takeCodeVerifier } from "./provider-sign-in.ts";
import { adminApi, beginSession, publicApi, type SignInMethod, signOut } from "./session.ts";
import { describeError } from "./views/parts.ts";

/** What a login answer means for the console. */
export type LoginOutcome =
  | { kind: "signed_in"; tokens: TokenPair }
  | { kind: "second_factor"; challenge: MfaChallenge }
  /** `restart`: the challenge is gone (expired, used): the password form again. */
  | { kind: "refused"; message: string; restart: boolean };

/** A sign-in's answer: POST /auth/login, POST /auth/login/mfa, POST /auth/passkeys/authentication or POST /auth/oidc/exchange. */
type SignInAnswer = { data?: SignedIn; error?: unknown; response: Response };

/** Reads the answer to a sign-in. */
export function handleLoginAnswer(answer: SignInAnswer): LoginOutcome {
  if (answer.data) {
    keepDeviceToken(answer.data.device_token);
    return { kind: "signed_in", tokens: answer.data };
  }
  const problem = new ApiProblem(answer.response, answer.error);
  if (problem.code === "mfa_required" && problem.challenge) return { kind: "second_factor", challenge: problem.challenge };
  return { kind: "refused", message: problem.message, restart: problem.code === "invalid_token" };
}

/** Six digits are the app's code; anything else is taken for a recovery code (the API reads its spellings). */
function factorProof(challenge: MfaChallenge, typed: string) {
  const compact = typed.replaceAll(/\s/g, "");
  return /^[0-9]{6}$/.test(compact)
    ? { challenge_token: challenge.token, code: compact }
    : { challenge_token: challenge.token, recovery_code: typed };
}

function notAdmin(me: User): string {
  return `${me.email} is not an admin account. This console is for the shop's admins: sign in with an admin account, or ask an admin to give yours the admin role.`;
}

/** Begins the session of a login's tokens, for an admin; anyone else is signed out with the reason. */
async function enter(tokens: TokenPair, method: SignInMethod, onSignedIn: (me: User) => void): Promise<void> {
  beginSession(tokens, method);
  const me = await read(adminApi.GET("/users/me"));
  // the API refuses every admin route to others (403); say so before showing an empty console
  if (me.role !== "admin") await signOut(notAdmin(me));
  else onSignedIn(me);
}

export interface SignInOptions {
  /** Why the form is shown again: an idle sign-out, an ended session, a refusal. */
  reason?: string | undefined;
  /** The one-time code an identity provider's sign-in came back with, to exchange now. */
  providerCode?: string | undefined;
  onSignedIn: (me: User) => void;
}

/**
 * The code a provider's sign-in left in the address (`#oidc_code=…`), taken out of it at once: it is good once, for
 * a minute, and must not stay in the history or be bookmarked.
 */
export function takeProviderCode(): string | undefined {
  const code = new URLSearchParams(location.hash.slice(1)).get("oidc_code") ?? undefined;
  if (code !== undefined) history.replaceState(null, "", `${location.pathname}${location.search}`);
  return code;
}

/** "Sign in with …", one per provider the API has: each goes there and comes back to this page. */
// asked once per page: the list changes only with a deployment, and every /auth request counts against the
// client's allowance
let providers: Promise<IdentityProvider[]> | undefined;

function providerLinks(): HTMLElement {
  const box = h("div", { class: "providers" });
  const returnTo = `${location.origin}${location.pathname}`;
  providers ??= read(publicApi.GET("/auth/oidc/providers"));
  void providers.then(
    (providers) =>
      box.replaceChildren(
        ...providers.map((provider) => {
          const href = `/auth/oidc/${encodeURIComponent(provider.id)}/start?${new URLSearchParams({ return_to: returnTo })}`;
          const link = h("a", { href }, `Sign in with ${provider.label}`);
          link.addEventListener("click", (event) => {
            event.preventDefault();
            void goToProvider(provider.id, returnTo);
          });
          return link;
        }),
      ),
    // without the list the password form still works; the next sign-in page asks again
    () => {
      providers = undefined;
    },
  );
  return box;
}

/** The form's fields: email and password first, the second factor's code in their place when asked for. */
function signInFields() {
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
  const code = h("input", {
    id: "sign-in-code",
    name: "code",
    autocomplete: "one-time-code",
    spellcheck: "false",
    "aria-describedby": "sign-in-code-hint",
  });
  const codeStep = h(
    "div",
    { class: "sign-in", hidden: true },
    h("label", { for: code.id }, "Code from your authenticator app"),
    code,
    h("p", { id: "sign-in-code-hint", class: "hint" }, "Or one of your recovery codes, if the app is not at hand."),
  );
  const passwordStep = h(
    "div",
    { class: "sign-in" },
    h("label", { for: email.id }, "Email"),
    email,
    h("label", { for: password.id }, "Password"),
    password,
  );
  return { email, password, code, passwordStep, codeStep };
}

type SignInFields = ReturnType<typeof signInFields>;

/** The form's two steps, the password and a login's second factor, and the refusals shown above them. */
function signInSteps(fields: SignInFields, alert: HTMLElement) {
  const { email, password, code, passwordStep, codeStep } = fields;
  // the challenge of a login that asked for the second factor, until it is answered or gone
  let challenge: MfaChallenge | undefined;
  const askForCode = (next: MfaChallenge | undefined) => {
    challenge = next;
    passwordStep.hidden = next !== undefined;
    codeStep.hidden = next === undefined;
    code.required = next !== undefined;
    email.required = password.required = next === undefined;
    code.value = "";
    (next ? code : password).focus();
  };
  return {
    challenge: () => challenge,
    askForCode: (next: MfaChallenge) => {
      alert.hidden = true;
      askForCode(next);
    },
    /** `restart`: back to the password step (the challenge is gone, or it was the password that was wrong). */
    refuse: (message: string, restart = true) => {
      fill(alert, message);
      alert.hidden = false;
      password.value = "";
      if (restart) askForCode(undefined);
      else code.focus();
    },
  };
}

type SignInSteps = ReturnType<typeof signInSteps>;

/** One press of "Sign in": the password or the second factor to the API, and what its answer means for the form. */
function attempt(fields: SignInFields, steps: SignInSteps, onSignedIn: (me: User) => void): Promise<void> {
  const challenge = steps.challenge();
  return settle(
    challenge
      ? publicApi.POST("/auth/login/mfa", { body: factorProof(challenge, fields.code.value) })
      : publicApi.POST("/auth/login", {
          body: { email: fields.email.value, password: fields.password.value, device_token: deviceToken() },
        }),
    steps,
    onSignedIn,
  );
}

/**
 * What a sign-in's answer means for the form: signed in (by `method`, or by the code when it answered a challenge),
 * asked for the second factor, or refused.
 */
async function settle(
  answer: Promise<SignInAnswer>,
  steps: SignInSteps,
  onSignedIn: (me: User) => void,
  method: "password" | "passkey" = "password",
): Promise<void> {
  const challenge = steps.challenge();
  try {
    const outcome = handleLoginAnswer(await answer);
    switch (outcome.kind) {
      case "refused":
        steps.refuse(outcome.message, challenge === undefined || outcome.restart);
        return;
      case "second_factor":
        steps.askForCode(outcome.challenge);
        return;
      case "signed_in":
        await enter(outcome.tokens, challenge === undefined ? method : "code", onSignedIn);
        return;
    }
  } catch (error) {
    const message = describeError(error);
    // a session that began but could not be used ends here: the form shows again with the reason
    await signOut(message);
    steps.refuse(message);
  }
}

/**
 * "Sign in with a passkey": for the account of the address typed, if any, else whichever of this site's passkeys the
 * browser offers; no password, and no code (a passkey that verified its user is every factor).
 */
function passkeyAttempt(fields: SignInFields, steps: SignInSteps, onSignedIn: (me: User) => void): Promise<void> {
  const typed = fields.email.value.trim();
  const body = typed !== "" && fields.email.validity.valid ? { email: typed } : {};
  const answer = read(publicApi.POST("/auth/passkeys/authentication/options", { body }))
    .then(usePasskey)
    .then((credential) => publicApi.POST("/auth/passkeys/authentication", { body: { credential, device_token: deviceToken() } }));
  return settle(answer, steps, onSignedIn, "passkey");
}

/** The passkey's way in, beside the form (not in it: Enter in the form signs in with the password). */
function passkeyButton(fields: SignInFields, steps: SignInSteps, onSignedIn: (me: User) => void): HTMLElement | null {
  if (!passkeysSupported()) return null;
  const button = h("button", { type: "button" }, "Sign in with a passkey");
  button.addEventListener("click", () => {
    button.disabled = true;
    void passkeyAttempt(fields, steps, onSignedIn).finally(() => {
      button.disabled = false;
    });
  });
  return h("div", { class: "sign-in passkey-way" }, h("p", { class: "hint" }, "Or, with no password:"), button);
}

export function renderSignIn(main: HTMLElement, options: SignInOptions): void {
  document.title = "Sign in — Coffee Shop admin";
  const alert = h("div", { class: "problem", role: "alert", hidden: options.reason === undefined }, options.reason);
  const fields = signInFields();
  const steps = signInSteps(fields, alert);
  const button = h("button", { type: "submit" }, "Sign in");
  // method="post": should the script ever not run, the browser must not put the password in the URL
  const form = h("form", { class: "sign-in", method: "post" }, fields.passwordStep, fields.codeStep, button);
  const heading = viewHeading("Sign in");
  fill(
    main,
    h(
      "section",
      { class: "narrow" },
      heading,
      h("p", {}, "Users, sessions and the audit trail of the Coffee Shop API."),
      alert,
      form,
      passkeyButton(fields, steps, options.onSignedIn),
      providerLinks(),
    ),
  );
  fields.email.focus();
  if (options.providerCode !== undefined) {
    const body = { code: options.providerCode, device_token: deviceToken(), code_verifier: takeCodeVerifier() };
    void settle(publicApi.POST("/auth/oidc/exchange", { body }), steps, options.onSignedIn);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    button.disabled = true;
    fill(button, "Signing in…");
    void attempt(fields, steps, options.onSignedIn).finally(() => {
      button.disabled = false;
      fill(button, "Sign in");
    });
  });
}
