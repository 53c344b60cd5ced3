// A browser's part in signing in with the local identity provider: it follows the API's redirect to the provider,
// signs in on the provider's own login page (keeping the provider's cookies, as a browser would), and comes back to
// the API's callback with the flow's cookie. The provider is the real one of the local services (oidc-provider).
import { expect, inject } from "vitest";
import type { OidcFault } from "../../tools/local-services/oidc/provider.ts";
import type { SignedIn } from "../../src/schemas/tokens.ts";
import { type Call, api, bearer, json, PASSWORD } from "./helpers.ts";

/** The address the tests' deployment allows as return_to (OIDC_RETURN_URLS). */
export const RETURN_TO = "https://app.coffee.test/signed-in";
export const FLOW_COOKIE = "__Host-oidc-flow";

/** Someone new at the provider each call: like `kind` (ada: a verified address; mallory: unverified; margaret: a second factor). */
export function providerPerson(kind: "ada" | "mallory" | "margaret" = "ada"): { login: string; email: string } {
  const tag = crypto.randomUUID().slice(0, 8);
  return { login: `${kind}/${tag}`, email: `${kind}.${tag}@oidc.test` };
}

/** The browser's side of a flow: where the API sent it, and the flow's cookie it holds. */
export interface Flow {
  authorizeUrl: URL;
  cookie: string;
}

export interface FlowOptions {
  provider?: string;
  returnTo?: string;
  link?: string;
  codeChallenge?: string;
}

export async function startFlow(call: Call = api, options: FlowOptions = {}): Promise<Flow> {
  const query = new URLSearchParams({
    return_to: options.returnTo ?? RETURN_TO,
    ...(options.link ? { link: options.link } : {}),
    ...(options.codeChallenge ? { code_challenge: options.codeChallenge } : {}),
  });
  const response = await call(`/auth/oidc/${options.provider ?? "local"}/start?${query}`);
  expect(response.status).toBe(302);
  const setCookie = response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${FLOW_COOKIE}=`)) ?? "";
  expect(setCookie).toMatch(/; HttpOnly/i);
  expect(setCookie).toMatch(/; Secure/i);
  return {
    authorizeUrl: new URL(response.headers.get("Location") ?? ""),
    cookie: setCookie.split(";")[0]?.slice(FLOW_COOKIE.length + 1) ?? "",
  };
}

/** A cookie jar for the provider's own cookies (its login session), as a browser keeps them. */
function providerJar() {
  const cookies = new Map<string, string>();
  return {
    header: () => [...cookies].map(([name, value]) => `${name}=${value}`).join("; "),
    keep(response: Response) {
      for (const cookie of response.headers.getSetCookie()) {
        const [pair = ""] = cookie.split(";");
        const at = pair.indexOf("=");
        const name = pair.slice(0, at);
        if (/expires=Thu, 01 Jan 1970/i.test(cookie) || /max-age=0/i.test(cookie)) cookies.delete(name);
        else cookies.set(name, pair.slice(at + 1));
      }
    },
  };
}

/**
 * Signs in at the provider as `login` from where the API sent the browser, and answers where the provider sends it
 * back: the API's callback with the code and state.
 */
export async function signInAtProvider(authorizeUrl: URL, login: string): Promise<URL> {
  const jar = providerJar();
  const go = async (url: URL, init: RequestInit = {}) => {
    const response = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: { ...Object.fromEntries(new Headers(init.headers)), Cookie: jar.header() },
    });
    jar.keep(response);
    return response;
  };
  const toLogin = await go(authorizeUrl);
  const loginPage = new URL(toLogin.headers.get("Location") ?? "", authorizeUrl);
  expect((await go(loginPage)).status).toBe(200);
  const signedIn = await go(new URL(`${loginPage.pathname}/login`, loginPage), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ login }).toString(),
  });
  let next = new URL(signedIn.headers.get("Location") ?? "", loginPage);
  // the provider resumes the authorization, then sends the browser to the API
  while (next.origin === authorizeUrl.origin) {
    const response = await go(next);
    expect([302, 303]).toContain(response.status);
    next = new URL(response.headers.get("Location") ?? "", next);
  }
  return next;
}

/** The browser arriving at the API's callback with the provider's answer, and the flow's cookie (if it holds one). */
export function arriveAtCallback(call: Call, callbackUrl: URL, cookie: string | undefined): Promise<Response> {
  const headers: Record<string, string> = cookie === undefined ? {} : { Cookie: `${FLOW_COOKIE}=${cookie}` };
  return call(`${callbackUrl.pathname}${callbackUrl.search}`, { headers });
}

/** The one-time code the callback put in the return address's fragment. */
export function codeOf(response: Response, returnTo = RETURN_TO): string {
  expect(response.status).toBe(303);
  const location = new URL(response.headers.get("Location") ?? "");
  expect(location.href.slice(0, returnTo.length + 1)).toBe(`${returnTo}#`);
  const code = new URLSearchParams(location.hash.slice(1)).get("oidc_code");
  expect(code).toEqual(expect.any(String));
  return code ?? "";
}

export function exchange(call: Call, code: string, extra: { device_token?: string; code_verifier?: string } = {}): Promise<Response> {
  return call("/auth/oidc/exchange", json("POST", { code, ...extra }));
}

/** A whole sign-in up to the callback's answer. */
export async function throughProvider(call: Call, login: string, options: FlowOptions = {}): Promise<Response> {
  const flow = await startFlow(call, options);
  return arriveAtCallback(call, await signInAtProvider(flow.authorizeUrl, login), flow.cookie);
}

/** Makes the provider get its next token answer (or code) for `login` wrong, as `fault` says. */
export async function armProviderFault(fault: OidcFault, login: string): Promise<void> {
  const response = await fetch(`${inject("oidcIssuer")}/faults`, { method: "POST", body: JSON.stringify({ fault, login }) });
  expect(response.status).toBe(204);
}

/** A whole sign-in: the provider, the callback, the exchange. */
export async function signInWithProvider(call: Call, login: string): Promise<SignedIn> {
  const response = await exchange(call, codeOf(await throughProvider(call, login)));
  expect(response.status).toBe(200);
  return response.json<SignedIn>();
}

/** The body of a link's start: the password (of an account that has one) and where to come back to. */
export const linkBody = (extra: Record<string, unknown> = {}) => ({ current_password: PASSWORD, return_to: RETURN_TO, ...extra });

/** Asks to link the local provider, and answers the link token of the start address. */
export async function askToLink(call: Call, token: string, body = linkBody()): Promise<string> {
  const response = await call("/auth/identities/local/link", bearer(token, json("POST", body)));
  expect(response.status).toBe(200);
  const { url } = await response.json<{ url: string }>();
  const start = new URL(url);
  expect(`${start.origin}${start.pathname}`).toBe("https://api.coffee.test/auth/oidc/local/start");
  return start.searchParams.get("link") ?? "";
}

/** The callback's answer to a link: back to the client, which is told the provider was linked. */
export function expectLinked(response: Response): void {
  expect(response.status).toBe(303);
  expect(response.headers.get("Location")).toBe(`${RETURN_TO}#oidc_linked=local`);
}

/** Links someone new at the provider to the signed-in person (`password` theirs), and answers who. */
export async function linkedPerson(call: Call, token: string, password: string): Promise<{ login: string; email: string }> {
  const person = providerPerson();
  expectLinked(await throughProvider(call, person.login, { link: await askToLink(call, token, linkBody({ current_password: password })) }));
  return person;
}
