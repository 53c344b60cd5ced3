// Signing in with an identity provider, through the HTTP API and the local services' real provider (oidc-provider):
// the flow bound to its browser, every check of the provider's answer, whose account an identity is, the standing
// of its sessions, linking and unlinking.
import { describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import type { IdentityView } from "../../src/schemas/identities.ts";
import type { SignedIn } from "../../src/schemas/tokens.ts";
import type { PublicUser } from "../../src/schemas/user.ts";
import { decodeJwt } from "jose";
import {
  api,
  bearer,
  type Call,
  client,
  countRoundTrips,
  expectProblem,
  json,
  latestCode,
  login,
  mailTo,
  manualClock,
  PASSWORD,
  seededUser,
} from "./helpers.ts";
import { codeAt, completeWith, seededFactor } from "./factors.ts";
import {
  armProviderFault,
  arriveAtCallback,
  codeOf,
  exchange,
  expectLinked,
  FLOW_COOKIE,
  askToLink,
  linkBody,
  providerPerson,
  RETURN_TO,
  signInAtProvider,
  signInWithProvider,
  startFlow,
  throughProvider,
} from "./identity-provider.ts";

const db = getDb(inject("databaseUrl"));

async function signedIn(response: Response): Promise<SignedIn> {
  expect(response.status).toBe(200);
  return response.json<SignedIn>();
}

async function me(call: Call, token: string): Promise<PublicUser> {
  const response = await call("/users/me", bearer(token));
  expect(response.status).toBe(200);
  return response.json<PublicUser>();
}

async function accountsOf(email: string) {
  return db.selectFrom("users").select(["id", "status", "password_hash"]).where("email", "=", email).execute();
}

async function identitiesOfSubject(subject: string) {
  return db.selectFrom("identities").select(["id", "user_id"]).where("subject", "=", subject).execute();
}

describe("the flow", () => {
  it("lists the configured providers, from the settings alone", async () => {
    const { result: response, roundTrips } = await countRoundTrips((counted) => counted("/auth/oidc/providers"));
    expect(roundTrips).toBe(0);
    expect(await response.json()).toEqual([
      { id: "local", label: "Local provider" },
      { id: "offline", label: "Offline provider" },
    ]);
  });

  it("sends the browser to the provider with PKCE (S256), state and nonce, and binds them to it in a sealed cookie", async () => {
    const flow = await startFlow();
    const query = flow.authorizeUrl.searchParams;
    expect(`${flow.authorizeUrl.origin}${flow.authorizeUrl.pathname}`).toBe(`${inject("oidcIssuer")}/auth`);
    expect(query.get("code_challenge_method")).toBe("S256");
    expect(query.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(query.get("state")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(query.get("nonce")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(query.get("redirect_uri")).toBe("https://api.coffee.test/auth/oidc/local/callback");
    // the cookie holds no readable secret: it is sealed
    expect(flow.cookie).not.toContain(query.get("state"));
  });

  it("signs a new person in, end to end, in one round trip to start, two at the callback and one to exchange", async () => {
    const person = providerPerson();
    const flow = await countRoundTrips((call) => startFlow(call));
    expect(flow.roundTrips).toBe(0);
    const callbackUrl = await signInAtProvider(flow.result.authorizeUrl, person.login);
    const callback = await countRoundTrips((call) => arriveAtCallback(call, callbackUrl, flow.result.cookie));
    expect(callback.roundTrips).toBeLessThanOrEqual(2);
    // the flow is over: the browser forgets its cookie
    expect(callback.result.headers.getSetCookie().join()).toMatch(new RegExp(`${FLOW_COOKIE}=;.*Max-Age=0`, "i"));
    const code = codeOf(callback.result);
    // never a token in a URL
    expect(callback.result.headers.get("Location")).not.toMatch(/access_token|refresh_token/);
    const exchanged = await countRoundTrips((call) => exchange(call, code));
    expect(exchanged.roundTrips).toBe(1);
    const tokens = await signedIn(exchanged.result);
    expect(decodeJwt(tokens.access_token)).toMatchObject({ amr: ["fed"], auth_time: expect.any(Number) });
    const user = await me(api, tokens.access_token);
    expect(user).toMatchObject({ email: person.email, status: "verified", first_name: "Ada", last_name: "Lovelace" });
    // an account a provider made has no password: none signs in to it
    const [account] = await accountsOf(person.email);
    expect(account?.password_hash).toBeNull();
    const byPassword = await api("/auth/login", json("POST", { email: person.email, password: PASSWORD }));
    await expectProblem(byPassword, 401, "invalid_credentials");
  });

  it("signs a known identity in to its account again", async () => {
    const person = providerPerson();
    const first = await signInWithProvider(api, person.login);
    const again = await signInWithProvider(api, person.login);
    expect((await me(api, again.access_token)).id).toBe((await me(api, first.access_token)).id);
    expect(await identitiesOfSubject(person.login)).toHaveLength(1);
  });

  it("answers the posted form of a provider that posts its answer back, as the query", async () => {
    const person = providerPerson();
    const flow = await startFlow();
    const callbackUrl = await signInAtProvider(flow.authorizeUrl, person.login);
    const response = await api(callbackUrl.pathname, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: `${FLOW_COOKIE}=${flow.cookie}` },
      body: callbackUrl.searchParams.toString(),
    });
    await signedIn(await exchange(api, codeOf(response)));
  });

  it("exchanges a code once: twenty exchanges of it at once start one session", async () => {
    const person = providerPerson();
    const code = codeOf(await throughProvider(api, person.login));
    const answers = await Promise.all(Array.from({ length: 20 }, () => exchange(api, code)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    for (const answer of answers.filter((answer) => answer.status !== 200)) await expectProblem(answer, 400, "oidc_code_invalid");
    const [account] = await accountsOf(person.email);
    const sessions = await db
      .selectFrom("sessions")
      .select("id")
      .where("user_id", "=", account?.id ?? "")
      .execute();
    expect(sessions).toHaveLength(1);
  });

  it("refuses a code that expired, or whose parts were changed", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const person = providerPerson();
    const code = codeOf(await throughProvider(call, person.login));
    const [userId = "", identityId = "", , secret = ""] = code.split(".");
    await expectProblem(await exchange(call, `${Number(userId) + 1}.${identityId}.0.${secret}`), 400, "oidc_code_invalid");
    // the provider asserted no second factor: saying it did changes the code
    await expectProblem(await exchange(call, `${userId}.${identityId}.1.${secret}`), 400, "oidc_code_invalid");
    await expectProblem(await exchange(call, "not-a-code"), 400, "oidc_code_invalid");
    clock.advance(61);
    await expectProblem(await exchange(call, code), 400, "oidc_code_invalid");
  });
});

describe("a code bound to its client's verifier (RFC 7636 S256)", () => {
  // RFC 7636, appendix B
  const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  const codeChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  const APP_RETURN = "coffeeshop://signed-in";

  it("opens nothing without the verifier or with another, and stays for the client that holds it", async () => {
    const person = providerPerson();
    const code = codeOf(await throughProvider(api, person.login, { codeChallenge }));
    await expectProblem(await exchange(api, code), 400, "oidc_code_invalid");
    await expectProblem(await exchange(api, code, { code_verifier: `${verifier.slice(1)}x` }), 400, "oidc_code_invalid");
    // twenty wrong verifiers at once: each judged and refused, none spends the code (a verifier has 256 bits: no
    // count of wrong ones is needed to keep it from being guessed)
    const wrong = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        exchange(api, code, { code_verifier: `${verifier.slice(2)}${String(index).padStart(2, "0")}` }),
      ),
    );
    expect(wrong.map((answer) => answer.status)).toEqual(Array(20).fill(400));
    const tokens = await signedIn(await exchange(api, code, { code_verifier: verifier }));
    expect((await me(api, tokens.access_token)).email).toBe(person.email);
    await expectProblem(await exchange(api, code, { code_verifier: verifier }), 400, "oidc_code_invalid");
  });

  it("is required of an app coming back through its own scheme, which another app can claim", async () => {
    const start = await api(`/auth/oidc/local/start?return_to=${encodeURIComponent(APP_RETURN)}`);
    await expectProblem(start, 400, "oidc_code_challenge_required");
    const person = providerPerson();
    const code = codeOf(await throughProvider(api, person.login, { returnTo: APP_RETURN, codeChallenge }), APP_RETURN);
    await expectProblem(await exchange(api, code), 400, "oidc_code_invalid");
    expect((await exchange(api, code, { code_verifier: verifier })).status).toBe(200);
  });

  it("must be a challenge and a verifier of RFC 7636's form", async () => {
    await expectProblem(
      await api(`/auth/oidc/local/start?return_to=${encodeURIComponent(RETURN_TO)}&code_challenge=short`),
      422,
      "validation_failed",
    );
    await expectProblem(await exchange(api, "42.x", { code_verifier: "too short" }), 422, "validation_failed");
  });
});

describe("what goes wrong gets a problem answer, and no account", () => {
  it("a callback without the browser's cookie: the flow was started elsewhere (login CSRF)", async () => {
    const person = providerPerson();
    const flow = await startFlow();
    const callbackUrl = await signInAtProvider(flow.authorizeUrl, person.login);
    await expectProblem(await arriveAtCallback(api, callbackUrl, undefined), 400, "oidc_state_mismatch");
    await expectProblem(await arriveAtCallback(api, callbackUrl, "forged"), 400, "oidc_state_mismatch");
    expect(await accountsOf(person.email)).toEqual([]);
  });

  it("a callback carried to another browser, whose own flow has another state", async () => {
    const person = providerPerson();
    const victims = await startFlow();
    const attackers = await startFlow();
    const callbackUrl = await signInAtProvider(attackers.authorizeUrl, person.login);
    await expectProblem(await arriveAtCallback(api, callbackUrl, victims.cookie), 400, "oidc_state_mismatch");
    expect(await accountsOf(person.email)).toEqual([]);
  });

  it("a code injected with the right state: the PKCE verifier of this browser's flow does not fit it", async () => {
    const person = providerPerson();
    const victims = await startFlow();
    const attackers = await startFlow();
    const stolen = await signInAtProvider(attackers.authorizeUrl, person.login);
    const injected = new URL(stolen);
    injected.searchParams.set("state", victims.authorizeUrl.searchParams.get("state") ?? "");
    await expectProblem(await arriveAtCallback(api, injected, victims.cookie), 401, "oidc_failed");
    expect(await accountsOf(person.email)).toEqual([]);
  });

  it("an authorization code replayed", async () => {
    const person = providerPerson();
    const flow = await startFlow();
    const callbackUrl = await signInAtProvider(flow.authorizeUrl, person.login);
    codeOf(await arriveAtCallback(api, callbackUrl, flow.cookie));
    await expectProblem(await arriveAtCallback(api, callbackUrl, flow.cookie), 401, "oidc_failed");
  });

  it("an authorization code expired", async () => {
    const person = providerPerson();
    await armProviderFault("code_expires_at_once", person.login);
    const flow = await startFlow();
    const callbackUrl = await signInAtProvider(flow.authorizeUrl, person.login);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await expectProblem(await arriveAtCallback(api, callbackUrl, flow.cookie), 401, "oidc_failed");
    expect(await accountsOf(person.email)).toEqual([]);
  });

  it.each(["wrong_issuer", "wrong_audience", "wrong_nonce", "expired_id_token", "foreign_key"] as const)(
    "an ID token with %s",
    async (fault) => {
      const person = providerPerson();
      const flow = await startFlow();
      const callbackUrl = await signInAtProvider(flow.authorizeUrl, person.login);
      await armProviderFault(fault, person.login);
      await expectProblem(await arriveAtCallback(api, callbackUrl, flow.cookie), 401, "oidc_failed");
      expect(await accountsOf(person.email)).toEqual([]);
      expect(await identitiesOfSubject(person.login)).toEqual([]);
    },
  );

  it("an address the provider has not verified", async () => {
    const person = providerPerson("mallory");
    await expectProblem(await throughProvider(api, person.login), 403, "oidc_email_unverified");
    expect(await accountsOf(person.email)).toEqual([]);
  });

  it("a provider that is down: 503 with Retry-After, at the start or at the token endpoint", async () => {
    const start = await api(`/auth/oidc/offline/start?return_to=${encodeURIComponent(RETURN_TO)}`);
    await expectProblem(start, 503, "service_unavailable");
    expect(Number(start.headers.get("Retry-After"))).toBeGreaterThan(0);
    const person = providerPerson();
    const flow = await startFlow();
    const callbackUrl = await signInAtProvider(flow.authorizeUrl, person.login);
    await armProviderFault("token_endpoint_down", person.login);
    const callback = await arriveAtCallback(api, callbackUrl, flow.cookie);
    await expectProblem(callback, 503, "service_unavailable");
    expect(Number(callback.headers.get("Retry-After"))).toBeGreaterThan(0);
  });

  it("a provider that is not configured", async () => {
    await expectProblem(await api(`/auth/oidc/elsewhere/start?return_to=${encodeURIComponent(RETURN_TO)}`), 404, "oidc_provider_unknown");
    await expectProblem(await api("/auth/oidc/elsewhere/callback?state=a&code=b"), 404, "oidc_provider_unknown");
  });

  it.each([
    "https://evil.test/signed-in",
    "https://app.coffee.test/signed-in.evil.test",
    "https://app.coffee.test/signed-in/../../elsewhere",
    "https://app.coffee.test/signed-in?next=https://evil.test",
    "https://app.coffee.test@evil.test/signed-in",
  ])("a return address not on the allow-list (an open redirect): %s", async (returnTo) => {
    const response = await api(`/auth/oidc/local/start?return_to=${encodeURIComponent(returnTo)}`);
    await expectProblem(response, 400, "oidc_return_not_allowed");
    expect(response.headers.get("Location")).toBeNull();
  });
});

/** A local account with the provider person's address, made as `npm run users` makes one (verified, PASSWORD). */
async function localAccountOf(email: string, role: "user" | "admin" = "user") {
  const user = await seededUser(role);
  await db.updateTable("users").set({ email }).where("id", "=", String(user.id)).execute();
  return { ...user, email };
}

describe("whose account an identity is", () => {
  it("links to the account that proved the same address (the provider verified it too), and tells its owner", async () => {
    const person = providerPerson();
    const owner = await localAccountOf(person.email);
    const tokens = await signInWithProvider(api, person.login);
    expect((await me(api, tokens.access_token)).id).toBe(owner.id);
    expect(await identitiesOfSubject(person.login)).toEqual([{ id: expect.any(String), user_id: String(owner.id) }]);
    const mail = await mailTo(person.email);
    expect(mail.map((message) => message.subject)).toContain("Coffee Shop: Local provider was linked to your account");
    const events = await db.selectFrom("auth_events").select(["type", "details"]).where("user_id", "=", String(owner.id)).execute();
    expect(events).toEqual(
      expect.arrayContaining([
        { type: "identity_linked", details: { provider: "local", identity_id: expect.any(String) } },
        { type: "login_succeeded", details: expect.objectContaining({ by: "identity" }) },
      ]),
    );
    // the password still signs in too
    expect((await login(owner)).access_token).toEqual(expect.any(String));
  });

  it("does not merge into a signup nobody proved: it gives way, and its password never opens the provider's account", async () => {
    const person = providerPerson();
    const squatter = await api("/auth/signup", json("POST", { email: person.email, password: "the squatter's own passphrase" }));
    expect(squatter.status).toBe(201);
    const { id: squatterId } = await squatter.json<{ id: number }>();
    const squattersCode = await latestCode(person.email);
    const tokens = await signInWithProvider(api, person.login);
    const user = await me(api, tokens.access_token);
    expect(user.id).not.toBe(squatterId);
    expect(await accountsOf(person.email)).toEqual([{ id: String(user.id), status: "verified", password_hash: null }]);
    // neither the squatter's code nor their password gets into the account
    const verify = await api(
      "/auth/verify",
      json("POST", { email: person.email, code: squattersCode, password: "the squatter's own passphrase" }),
    );
    await expectProblem(verify, 400, "code_invalid");
    await expectProblem(
      await api("/auth/login", json("POST", { email: person.email, password: "the squatter's own passphrase" })),
      401,
      "invalid_credentials",
    );
  });

  it("refuses a disabled account, known or matched by address", async () => {
    const person = providerPerson();
    const tokens = await signInWithProvider(api, person.login);
    const { id } = await me(api, tokens.access_token);
    await db.updateTable("users").set({ status: "disabled" }).where("id", "=", String(id)).execute();
    await expectProblem(await throughProvider(api, person.login), 403, "account_disabled");
    const other = providerPerson();
    const owner = await localAccountOf(other.email);
    await db.updateTable("users").set({ status: "disabled" }).where("id", "=", String(owner.id)).execute();
    await expectProblem(await throughProvider(api, other.login), 403, "account_disabled");
    expect(await identitiesOfSubject(other.login)).toEqual([]);
  });
});

describe("the standing of a provider's sessions", () => {
  /** An account the provider made, with our authenticator app turned on. */
  async function withFactor(kind: "ada" | "margaret") {
    const person = providerPerson(kind);
    const tokens = await signInWithProvider(api, person.login);
    const user = await me(api, tokens.access_token);
    const clock = manualClock();
    const { secret } = await seededFactor({ id: user.id, email: person.email, password: PASSWORD }, clock());
    return { person, clock, secret };
  }

  it("asks an account with our second factor for it after the provider's sign-in, and the code completes it", async () => {
    const { person, clock, secret } = await withFactor("ada");
    const call = client({ clock });
    const problem = await expectProblem(await exchange(call, codeOf(await throughProvider(call, person.login))), 401, "mfa_required");
    const { challenge } = problem as typeof problem & { challenge: { token: string } };
    const tokens = await signedIn(await completeWith(call, challenge.token, { code: await codeAt(secret, clock) }));
    expect(decodeJwt(tokens.access_token).amr).toEqual(["fed", "otp"]);
  });

  it("lets a provider's own second factor stand in for ours (amr mfa)", async () => {
    const { person, clock } = await withFactor("margaret");
    const call = client({ clock });
    const tokens = await signedIn(await exchange(call, codeOf(await throughProvider(call, person.login))));
    expect(decodeJwt(tokens.access_token).amr).toEqual(["fed", "mfa"]);
  });

  it("holds admins to ADMIN_MFA_REQUIRED by the same rule", async () => {
    const strict = client({ env: { ADMIN_MFA_REQUIRED: "true" } });
    for (const kind of ["ada", "margaret"] as const) {
      const person = providerPerson(kind);
      await localAccountOf(person.email, "admin");
      const tokens = await signInWithProvider(strict, person.login);
      const users = await strict("/users?limit=1", bearer(tokens.access_token));
      if (kind === "ada") await expectProblem(users, 403, "mfa_enrollment_required");
      else expect(users.status).toBe(200);
    }
  });
});

describe("linking and unlinking, signed in", () => {
  it("links an identity of another address to the signed-in person, who then signs in with it", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    const person = providerPerson();
    // the intent is stored with the password's guard in one statement: two round trips with the guard's read
    const asked = await countRoundTrips((counted) => askToLink(counted, access_token));
    expect(asked.roundTrips).toBe(2);
    expectLinked(await throughProvider(api, person.login, { link: asked.result }));
    const { result: listed, roundTrips } = await countRoundTrips((counted) => counted("/auth/identities", bearer(access_token)));
    expect(roundTrips).toBe(1);
    expect(await listed.json<IdentityView[]>()).toEqual([
      {
        id: expect.any(String),
        provider: "local",
        email: person.email,
        linked_at: expect.any(String),
        last_sign_in_at: expect.any(String),
      },
    ]);
    const tokens = await signInWithProvider(api, person.login);
    expect((await me(api, tokens.access_token)).id).toBe(user.id);
    // no account was made for the provider's address
    expect(await accountsOf(person.email)).toEqual([]);
    expect((await mailTo(user.email)).map((message) => message.subject)).toContain(
      "Coffee Shop: Local provider was linked to your account",
    );
  });

  it("needs the password of an account that has one, a recent sign-in, and takes a link intent once", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { access_token } = await login(user, call);
    await expectProblem(
      await call("/auth/identities/local/link", bearer(access_token, json("POST", { return_to: RETURN_TO }))),
      422,
      "validation_failed",
    );
    await expectProblem(
      await call(
        "/auth/identities/local/link",
        bearer(access_token, json("POST", linkBody({ current_password: "not the password at all" }))),
      ),
      401,
      "invalid_credentials",
    );
    await expectProblem(
      await call("/auth/identities/local/link", bearer(access_token, json("POST", linkBody({ return_to: "https://evil.test/" })))),
      400,
      "oidc_return_not_allowed",
    );
    const link = await askToLink(call, access_token);
    expectLinked(await throughProvider(call, providerPerson().login, { link }));
    // the same intent again links nobody
    const again = providerPerson();
    await expectProblem(await throughProvider(call, again.login, { link }), 400, "link_invalid");
    expect(await identitiesOfSubject(again.login)).toEqual([]);
    clock.advance(11 * 60);
    await expectProblem(
      await call("/auth/identities/local/link", bearer(access_token, json("POST", linkBody()))),
      401,
      "reauthentication_required",
    );
  });

  it("refuses an identity that is another account's", async () => {
    const taken = providerPerson();
    await signInWithProvider(api, taken.login);
    const user = await seededUser();
    const { access_token } = await login(user);
    await expectProblem(await throughProvider(api, taken.login, { link: await askToLink(api, access_token) }), 409, "identity_taken");
    expect((await identitiesOfSubject(taken.login)).map((identity) => identity.user_id)).not.toContain(String(user.id));
  });

  it("unlinks an identity: the sessions it started end, and the owner is told", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    const person = providerPerson();
    expectLinked(await throughProvider(api, person.login, { link: await askToLink(api, access_token) }));
    const throughIt = await signInWithProvider(api, person.login);
    const [identity] = await (await api("/auth/identities", bearer(access_token))).json<IdentityView[]>();
    const { result, roundTrips } = await countRoundTrips((call) =>
      call(`/auth/identities/${identity?.id}`, bearer(access_token, { method: "DELETE" })),
    );
    expect(result.status).toBe(204);
    // one to unlink, one after the answer to mark the notice sent
    expect(roundTrips).toBe(2);
    await expectProblem(await api("/users/me", bearer(throughIt.access_token)), 401, "invalid_token");
    // the password's session goes on
    expect((await api("/users/me", bearer(access_token))).status).toBe(200);
    expect(await (await api("/auth/identities", bearer(access_token))).json()).toEqual([]);
    expect((await mailTo(user.email)).map((message) => message.subject)).toContain(
      "Coffee Shop: a sign-in provider was unlinked from your account",
    );
    // the identity is a stranger to the account now: signing in with it no longer opens it
    const afterwards = await signInWithProvider(api, person.login);
    expect((await me(api, afterwards.access_token)).id).not.toBe(user.id);
  });

  it("will not unlink the last way to sign in, nor another person's identity", async () => {
    const person = providerPerson();
    const tokens = await signInWithProvider(api, person.login);
    const [identity] = await (await api("/auth/identities", bearer(tokens.access_token))).json<IdentityView[]>();
    await expectProblem(
      await api(`/auth/identities/${identity?.id}`, bearer(tokens.access_token, { method: "DELETE" })),
      409,
      "last_sign_in_method",
    );
    const stranger = await seededUser();
    const theirs = (await login(stranger)).access_token;
    await expectProblem(await api(`/auth/identities/${identity?.id}`, bearer(theirs, { method: "DELETE" })), 404, "identity_not_found");
    expect(await identitiesOfSubject(person.login)).toHaveLength(1);
  });

  it("lets an admin list a user's identities and unlink one: every session of theirs ends, they are told, it is audited", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { access_token } = await login(user, call);
    const person = providerPerson();
    expectLinked(await throughProvider(call, person.login, { link: await askToLink(call, access_token) }));
    const throughIt = await signInWithProvider(call, person.login);
    const admin = await seededUser("admin");
    const adminToken = (await login(admin, call)).access_token;
    const listing = await countRoundTrips((counted) => counted(`/users/${user.id}/identities`, bearer(adminToken)), { clock });
    expect(listing.roundTrips).toBe(1);
    const listed = await listing.result.json<IdentityView[]>();
    expect(listed.map((identity) => identity.email)).toEqual([person.email]);
    const unlink = (token: string, userId = user.id, identityId = listed[0]?.id, through: Call = call) =>
      through(`/users/${userId}/identities/${identityId}`, bearer(token, { method: "DELETE" }));
    await expectProblem(await unlink(access_token), 403, "forbidden");
    await expectProblem(await unlink(adminToken, admin.id), 409, "cannot_unlink_own_identity");
    await expectProblem(await unlink(adminToken, user.id, crypto.randomUUID()), 404, "identity_not_found");
    const { result, roundTrips } = await countRoundTrips((counted) => unlink(adminToken, user.id, listed[0]?.id, counted), { clock });
    expect(result.status).toBe(204);
    // one to unlink, one after the answer to mark the notice sent
    expect(roundTrips).toBe(2);
    // the provider's session and the password's: every one ends
    await expectProblem(await call("/users/me", bearer(throughIt.access_token)), 401, "invalid_token");
    await expectProblem(await call("/users/me", bearer(access_token)), 401, "invalid_token");
    expect((await mailTo(user.email))[0]?.text).toContain("An administrator unlinked a sign-in provider from your account");
    const events = await db
      .selectFrom("auth_events")
      .select(["actor_id", "details"])
      .where("user_id", "=", String(user.id))
      .where("type", "=", "identity_unlinked")
      .execute();
    expect(events).toEqual([{ actor_id: String(admin.id), details: { by: "admin", provider: "local" } }]);
    await expectProblem(await unlink(adminToken), 404, "identity_not_found");
    // an admin's sign-in over ten minutes old must be renewed first
    clock.advance(11 * 60);
    await expectProblem(await unlink(adminToken), 401, "reauthentication_required");
  });

  it("will not let an admin unlink a user's last way to sign in", async () => {
    const person = providerPerson();
    const tokens = await signInWithProvider(api, person.login);
    const { id } = await me(api, tokens.access_token);
    const [identity] = await (await api("/auth/identities", bearer(tokens.access_token))).json<IdentityView[]>();
    const admin = await seededUser("admin");
    const unlinking = await api(`/users/${id}/identities/${identity?.id}`, bearer((await login(admin)).access_token, { method: "DELETE" }));
    await expectProblem(unlinking, 409, "last_sign_in_method");
    expect((await api("/users/me", bearer(tokens.access_token))).status).toBe(200);
  });
});

describe("leaving with one's data", () => {
  it("lists the linked providers in the owner's export", async () => {
    const person = providerPerson();
    const tokens = await signInWithProvider(api, person.login);
    const response = await api("/users/me/export", bearer(tokens.access_token));
    expect(response.status).toBe(200);
    const document = await response.json<{ identities: unknown[] }>();
    expect(document.identities).toEqual([
      { provider: "local", email: person.email, linked_at: expect.any(String), last_sign_in_at: expect.any(String) },
    ]);
  });
});
