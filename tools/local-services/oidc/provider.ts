// A real OpenID Connect provider in the local services (panva's oidc-provider, OpenID Certified), so signing in
// with an identity provider runs offline, end to end, in `npm run dev` and the tests. Mounted at /oidc of the
// local services; one client is registered for the API, and a few people can sign in on its small login page
// (one whose address the provider has not verified, one who signs in with a second factor).
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import Provider, { type KoaContextWithOIDC } from "oidc-provider";
import { LOCAL_OIDC_ACCOUNTS, LOCAL_OIDC_CLIENT, localOidcAccount, OIDC_PATH } from "./accounts.ts";
import { memoryAdapter } from "./memory-adapter.ts";

export interface LocalOidcProvider {
  issuer: string;
  /** Answers a request under OIDC_PATH. */
  handle(request: IncomingMessage, response: ServerResponse): void;
}

/**
 * What the provider gets wrong next for one person, for the tests (POST {OIDC_PATH}/faults with `{"fault": …,
 * "login": …}`; once): its token endpoint down, the authorization code it issues them next expiring in a second, or
 * an ID token as a broken or compromised provider would send it (another issuer, another audience, another nonce,
 * expired, or signed by a key it does not publish). Bound to the person, so tests signing others in at the same
 * time meet none of it.
 */
export const OIDC_FAULTS = [
  "token_endpoint_down",
  "code_expires_at_once",
  "wrong_issuer",
  "wrong_audience",
  "wrong_nonce",
  "expired_id_token",
  "foreign_key",
] as const;
export type OidcFault = (typeof OIDC_FAULTS)[number];

function isFault(value: unknown): value is OidcFault {
  return OIDC_FAULTS.some((fault) => fault === value);
}

/** The ID token as the fault has it: its claims changed and signed again with the provider's key, or a stranger's. */
async function tamperedIdToken(idToken: string, fault: OidcFault, keys: { own: KeyObject; foreign: KeyObject }): Promise<string> {
  const claims = decodeJwt(idToken);
  const header = decodeProtectedHeader(idToken);
  const now = Math.floor(Date.now() / 1000);
  const changed = {
    wrong_issuer: { iss: `${String(claims.iss)}-elsewhere` },
    wrong_audience: { aud: "another-client" },
    wrong_nonce: { nonce: "a-nonce-of-another-sign-in" },
    expired_id_token: { iat: now - 7200, exp: now - 3600 },
  }[fault as string];
  const signer = fault === "foreign_key" ? keys.foreign : keys.own;
  return new SignJWT({ ...claims, ...changed }).setProtectedHeader({ ...header, alg: "ES256" }).sign(signer);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** The login page: a name to type; any of LOCAL_OIDC_ACCOUNTS signs in, without a password (this is a stand-in). */
function loginPage(uid: string, error?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local identity provider</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Local identity provider</h1>
<p>Sign in as one of: ${Object.keys(LOCAL_OIDC_ACCOUNTS).map(escapeHtml).join(", ")}.</p>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ""}
<form method="post" action="${OIDC_PATH}/interaction/${escapeHtml(uid)}/login">
<label for="login">Name</label> <input id="login" name="login" autocomplete="username" required autofocus>
<button type="submit">Sign in</button></form></main></body></html>`;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

async function formField(request: IncomingMessage, name: string): Promise<string> {
  return new URLSearchParams(await readBody(request)).get(name) ?? "";
}

/** The interaction: the login page, and its answer, which also grants the API the scopes it asked for. */
async function interaction(provider: Provider, request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
  const details = await provider.interactionDetails(request, response);
  if (request.method === "GET") {
    response.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" }).end(loginPage(details.uid));
    return;
  }
  if (!path.endsWith("/login")) throw new Error(`no such interaction step: ${path}`);
  const login = (await formField(request, "login")).trim().toLowerCase();
  const account = localOidcAccount(login);
  if (!account) {
    response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(loginPage(details.uid, `Nobody called “${login}” here.`));
    return;
  }
  const grant = new provider.Grant({ accountId: login, clientId: String(details.params.client_id) });
  grant.addOIDCScope(String(details.params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(
    request,
    response,
    { login: { accountId: login, amr: account.amr }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

/**
 * Starts the provider at `issuer` (the local services' URL and OIDC_PATH), with the API's client allowed to come
 * back to `redirectUris`.
 */
export function createLocalOidcProvider(issuer: string, redirectUris: string[]): LocalOidcProvider {
  const own = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const foreign = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  /** The fault armed for each person's next sign-in, by their login (the ID token's `sub`). */
  const armed = new Map<string, OidcFault>();
  const disarm = (login: unknown, only?: (fault: OidcFault) => boolean): OidcFault | undefined => {
    const fault = typeof login === "string" ? armed.get(login) : undefined;
    if (fault === undefined || (only && !only(fault))) return undefined;
    armed.delete(String(login));
    return fault;
  };
  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    clients: [
      {
        ...LOCAL_OIDC_CLIENT,
        redirect_uris: redirectUris,
        response_types: ["code"],
        grant_types: ["authorization_code"],
        token_endpoint_auth_method: "client_secret_basic",
        id_token_signed_response_alg: "ES256",
      },
    ],
    jwks: { keys: [{ ...own.export({ format: "jwk" }), kid: "local-provider-key", use: "sig", alg: "ES256" }] },
    findAccount: (_ctx: KoaContextWithOIDC, id: string) => {
      const account = localOidcAccount(id);
      if (!account) return undefined;
      const { email, email_verified, name } = account;
      return { accountId: id, claims: () => ({ sub: id, email, email_verified, name }) };
    },
    // how the person signed in at the provider (`amr`, RFC 8176) and when: the API trusts a provider's second factor
    claims: { openid: ["sub", "amr", "auth_time"], email: ["email", "email_verified"], profile: ["name"] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `${OIDC_PATH}/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    cookies: { keys: ["local-provider-cookie-key"] },
    ttl: {
      AuthorizationCode: (_ctx, code) => (disarm(code.accountId, (fault) => fault === "code_expires_at_once") ? 1 : 60),
      Grant: 3600,
      IdToken: 600,
      AccessToken: 600,
      Interaction: 600,
      Session: 3600,
    },
  });
  /** The token endpoint's answer, as the fault armed for the person it signs in has it. */
  function answerTokenRequest(request: IncomingMessage, response: ServerResponse): void {
    const end = response.end.bind(response);
    const send = (status: number, headers: Record<string, string>, body: string) => {
      response.statusCode = status;
      for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
      response.setHeader("Content-Length", Buffer.byteLength(body));
      end(body);
    };
    // the provider answers with one end(body): the body is held, and sent as the person's fault has it
    response.end = ((body?: unknown) => {
      const text = Buffer.isBuffer(body) || typeof body === "string" ? Buffer.from(body).toString("utf8") : "";
      void (async () => {
        const answer: { id_token?: unknown } = text ? JSON.parse(text) : {};
        const idToken = answer.id_token;
        const fault = typeof idToken === "string" ? disarm(decodeJwt(idToken).sub) : undefined;
        if (fault === undefined || typeof idToken !== "string") end(text);
        else if (fault === "token_endpoint_down") send(503, { "Content-Type": "text/plain", "Retry-After": "30" }, "The provider is down.");
        else
          send(response.statusCode, {}, JSON.stringify({ ...answer, id_token: await tamperedIdToken(idToken, fault, { own, foreign }) }));
      })();
      return response;
    }) as ServerResponse["end"];
    void provider.callback()(request, response);
  }
  return {
    issuer,
    handle(request, response) {
      const url = request.url ?? "/";
      const path = url.slice(OIDC_PATH.length) || "/";
      if (path === "/faults" && request.method === "POST") {
        void readBody(request).then((text) => {
          const { fault, login }: { fault?: unknown; login?: unknown } = JSON.parse(text || "{}");
          if (!isFault(fault) || typeof login !== "string") {
            const wanted = `{"fault": one of ${OIDC_FAULTS.join(", ")}, "login": the person's name}`;
            response.writeHead(400, { "Content-Type": "text/plain" }).end(`the body must be ${wanted}`);
            return;
          }
          armed.set(login, fault);
          response.writeHead(204).end();
        });
        return;
      }
      if (path.startsWith("/token") && armed.size > 0) {
        Object.assign(request, { originalUrl: url, url: path });
        answerTokenRequest(request, response);
        return;
      }
      if (path.startsWith("/interaction/")) {
        interaction(provider, request, response, path.split("?")[0] ?? path).catch((error: unknown) => {
          response.writeHead(400, { "Content-Type": "text/plain" }).end(`Interaction failed: ${String(error)}`);
        });
        return;
      }
      // as a framework that mounts it would: the provider works out its mount point from the original URL
      Object.assign(request, { originalUrl: url, url: path });
      void provider.callback()(request, response);
    },
  };
}
