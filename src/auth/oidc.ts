// Signing in with an identity provider, the protocol: OpenID Connect's authorization code flow with PKCE (S256),
// `state` and `nonce`, by oauth4webapi (spec-complete, WebCrypto only, so it runs in workerd: discovery, the token
// request, every ID token check including its signature against the provider's published keys); and GitHub's
// OAuth 2, which has no ID token, with its verified-emails API. Knows nothing of accounts.
import { importPKCS8, SignJWT } from "jose";
import * as oauth from "oauth4webapi";
import type { IdentityProviderSetting } from "../schemas/identities.ts";

/** A provider as the flow uses it, from its setting (a preset or any OpenID Connect issuer). */
export interface IdentityProvider {
  id: string;
  label: string;
  kind: "oidc" | "github";
  issuer: URL;
  clientId: string;
  secret: { value: string } | { apple: { teamId: string; keyId: string; privateKey: string } };
  /** The provider posts its answer back (Apple): the browser's cookie must then be sent on a cross-site POST. */
  formPost: boolean;
  scope: string;
  /** What in the ID token says the person proved a second factor at the provider. */
  mfa: { amr: string[]; acr: string[] };
}

const NO_MFA = { amr: [], acr: [] };

/** A provider from its setting: the presets fill in what Google, Microsoft, Apple and GitHub need. */
export function providerOf(setting: IdentityProviderSetting): IdentityProvider {
  const base = { id: setting.id, clientId: setting.client_id, formPost: false, scope: "openid email profile" };
  if (!("preset" in setting)) {
    const mfa = { amr: setting.mfa_amr, acr: setting.mfa_acr };
    return {
      ...base,
      label: setting.label ?? setting.id,
      kind: "oidc",
      issuer: new URL(setting.issuer),
      secret: { value: setting.client_secret },
      mfa,
    };
  }
  switch (setting.preset) {
    case "google":
      return {
        ...base,
        label: setting.label ?? "Google",
        kind: "oidc",
        issuer: new URL("https://accounts.google.com"),
        secret: { value: setting.client_secret },
        mfa: NO_MFA,
      };
    case "microsoft":
      return {
        ...base,
        label: setting.label ?? "Microsoft",
        kind: "oidc",
        issuer: new URL(`https://login.microsoftonline.com/${setting.tenant}/v2.0`),
        secret: { value: setting.client_secret },
        // Entra ID says `mfa` in `amr` when the person used a second factor
        mfa: { amr: ["mfa"], acr: [] },
      };
    case "apple":
      return {
        ...base,
        label: setting.label ?? "Apple",
        kind: "oidc",
        issuer: new URL("https://appleid.apple.com"),
        secret: { apple: { teamId: setting.team_id, keyId: setting.key_id, privateKey: setting.private_key } },
        formPost: true,
        // Apple asks for the name and address only with a posted answer
        scope: "openid email name",
        mfa: NO_MFA,
      };
    case "github":
      return {
        ...base,
        label: setting.label ?? "GitHub",
        kind: "github",
        issuer: new URL("https://github.com"),
        secret: { value: setting.client_secret },
        scope: "read:user user:email",
        mfa: NO_MFA,
      };
  }
}

/** Why a provider's part failed: it said no, its answer did not verify, or it could not be reached. */
export class IdentityProviderError extends Error {
  override name = "IdentityProviderError";
  readonly reason: "refused" | "invalid" | "unavailable";

  constructor(reason: IdentityProviderError["reason"], message: string) {
    super(message);
    this.reason = reason;
  }
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);
const TIMEOUT_MS = 5000;

/** Plain HTTP only to a provider on this machine (the local services' provider); any other is HTTPS. */
function requestOptions(provider: IdentityProvider) {
  const local = provider.issuer.protocol === "http:" && LOOPBACK.has(provider.issuer.hostname);
  return { [oauth.allowInsecureRequests]: local, signal: AbortSignal.timeout(TIMEOUT_MS) };
}

const GITHUB: oauth.AuthorizationServer = {
  issuer: "https://github.com",
  authorization_endpoint: "https://github.com/login/oauth/authorize",
  token_endpoint: "https://github.com/login/oauth/access_token",
};

// Discovery is cached per isolate for an hour, and each provider's keys with it (refreshed when a kid is new).
const DISCOVERY_SECONDS = 3600;
const servers = new Map<string, { server: Promise<oauth.AuthorizationServer>; until: number }>();
const keyCaches = new Map<string, oauth.JWKSCacheInput>();

async function discover(provider: IdentityProvider): Promise<oauth.AuthorizationServer> {
  const response = await oauth.discoveryRequest(provider.issuer, requestOptions(provider));
  if (response.status >= 500) throw new IdentityProviderError("unavailable", `discovery answered ${response.status}`);
  return oauth.processDiscoveryResponse(provider.issuer, response);
}

async function authorizationServer(provider: IdentityProvider, now: Date): Promise<oauth.AuthorizationServer> {
  if (provider.kind === "github") return GITHUB;
  const cached = servers.get(provider.issuer.href);
  if (cached && cached.until > now.getTime()) return cached.server;
  const server = discover(provider);
  servers.set(provider.issuer.href, { server, until: now.getTime() + DISCOVERY_SECONDS * 1000 });
  // a failed discovery is not kept: the next sign-in tries again
  server.catch(() => servers.delete(provider.issuer.href));
  return server;
}

/** What a flow keeps between its start and its callback (bound to the browser that started it). */
export interface AuthorizationRequest {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export function newAuthorizationRequest(): AuthorizationRequest {
  return { state: oauth.generateRandomState(), nonce: oauth.generateRandomNonce(), codeVerifier: oauth.generateRandomCodeVerifier() };
}

/** Where the browser goes to sign in at the provider. */
export async function authorizationUrl(
  provider: IdentityProvider,
  request: AuthorizationRequest & { redirectUri: string; now: Date },
): Promise<URL> {
  const server = await guarded(() => authorizationServer(provider, request.now));
  if (!server.authorization_endpoint) throw new IdentityProviderError("unavailable", "the provider names no authorization endpoint");
  const url = new URL(server.authorization_endpoint);
  const parameters: Record<string, string> = {
    client_id: provider.clientId,
    redirect_uri: request.redirectUri,
    response_type: "code",
    scope: provider.scope,
    state: request.state,
    code_challenge: await oauth.calculatePKCECodeChallenge(request.codeVerifier),
    code_challenge_method: "S256",
    ...(provider.kind === "oidc" ? { nonce: request.nonce } : {}),
    ...(provider.formPost ? { response_mode: "form_post" } : {}),
  };
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
  return url;
}

/** Who the provider says signed in: the subject it knows them by, their address and whether it verified it, how they proved it. */
export interface ProvedIdentity {
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  /** The provider asserted a second factor (its `amr` or `acr`, as the provider's setting trusts them). */
  multiFactor: boolean;
}

/** Sign in with Apple's client secret: a short-lived JWT signed with the team's key. */
async function appleClientSecret(apple: { teamId: string; keyId: string; privateKey: string }, clientId: string): Promise<string> {
  const key = await importPKCS8(apple.privateKey, "ES256");
  return new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: apple.keyId })
    .setIssuer(apple.teamId)
    .setSubject(clientId)
    .setAudience("https://appleid.apple.com")
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(key);
}

async function clientAuthentication(provider: IdentityProvider): Promise<oauth.ClientAuth> {
  if ("apple" in provider.secret) return oauth.ClientSecretPost(await appleClientSecret(provider.secret.apple, provider.clientId));
  return provider.kind === "github" ? oauth.ClientSecretPost(provider.secret.value) : oauth.ClientSecretBasic(provider.secret.value);
}

/** Runs a step against the provider, turning the library's and the network's failures into the three reasons. */
async function guarded<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof IdentityProviderError) throw error;
    if (error instanceof oauth.AuthorizationResponseError) throw new IdentityProviderError("refused", error.error);
    if (error instanceof oauth.ResponseBodyError)
      throw new IdentityProviderError("invalid", `the provider refused the code: ${error.error}`);
    if (error instanceof oauth.OperationProcessingError) throw new IdentityProviderError("invalid", error.message);
    throw new IdentityProviderError("unavailable", error instanceof Error ? error.message : String(error));
  }
}

/** The code exchanged at the token endpoint; a provider that fails there (5xx) is unavailable, not wrong. */
async function tokenResponse(
  provider: IdentityProvider,
  server: oauth.AuthorizationServer,
  parameters: URLSearchParams,
  request: AuthorizationRequest & { redirectUri: string },
): Promise<Response> {
  const client: oauth.Client = { client_id: provider.clientId };
  const response = await oauth.authorizationCodeGrantRequest(
    server,
    client,
    await clientAuthentication(provider),
    parameters,
    request.redirectUri,
    request.codeVerifier,
    requestOptions(provider),
  );
  if (response.status >= 500) throw new IdentityProviderError("unavailable", `the token endpoint answered ${response.status}`);
  return response;
}

/** An OpenID Connect provider's answer: every ID token check (issuer, audience, expiry, nonce, signature), then its claims. */
async function oidcIdentity(
  provider: IdentityProvider,
  server: oauth.AuthorizationServer,
  response: Response,
  nonce: string,
): Promise<ProvedIdentity> {
  const client: oauth.Client = { client_id: provider.clientId };
  const result = await oauth.processAuthorizationCodeResponse(server, client, response, { expectedNonce: nonce, requireIdToken: true });
  const keys = keyCaches.get(provider.issuer.href) ?? {};
  keyCaches.set(provider.issuer.href, keys);
  await oauth.validateApplicationLevelSignature(server, response, { ...requestOptions(provider), [oauth.jwksCache]: keys });
  const claims = oauth.getValidatedIdTokenClaims(result);
  if (!claims) throw new IdentityProviderError("invalid", "no ID token");
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((value): value is string => typeof value === "string") : [];
  const acr = typeof claims.acr === "string" ? claims.acr : undefined;
  return {
    subject: claims.sub,
    email: typeof claims.email === "string" ? claims.email : null,
    // Apple writes it as a string
    emailVerified: claims.email_verified === true || claims.email_verified === "true",
    name: typeof claims.name === "string" ? claims.name : null,
    multiFactor: amr.some((value) => provider.mfa.amr.includes(value)) || (acr !== undefined && provider.mfa.acr.includes(acr)),
  };
}

/** GitHub's answer: the user, and their primary address if GitHub verified it (GitHub has no ID token). */
async function githubIdentity(provider: IdentityProvider, server: oauth.AuthorizationServer, response: Response): Promise<ProvedIdentity> {
  const result = await oauth.processAuthorizationCodeResponse(server, { client_id: provider.clientId }, response);
  const get = async (path: string): Promise<unknown> => {
    const headers = new Headers({ Accept: "application/vnd.github+json", "User-Agent": "coffee-shop-api" });
    const answer = await oauth.protectedResourceRequest(
      result.access_token,
      "GET",
      new URL(path, "https://api.github.com"),
      headers,
      null,
      requestOptions(provider),
    );
    if (!answer.ok) throw new IdentityProviderError(answer.status >= 500 ? "unavailable" : "invalid", `GitHub answered ${answer.status}`);
    return answer.json();
  };
  const [user, emails] = await Promise.all([get("/user"), get("/user/emails")]);
  if (typeof user !== "object" || user === null || !("id" in user) || typeof user.id !== "number") {
    throw new IdentityProviderError("invalid", "GitHub gave no user id");
  }
  const primary = Array.isArray(emails) ? emails.find((email) => email?.primary === true) : undefined;
  const name = "name" in user && typeof user.name === "string" ? user.name : null;
  return {
    subject: String(user.id),
    email: typeof primary?.email === "string" ? primary.email : null,
    emailVerified: primary?.verified === true,
    name,
    multiFactor: false,
  };
}

/**
 * Completes a flow from the provider's answer at the callback: the answer checked against the flow's `state`, the
 * code exchanged with its PKCE verifier, the ID token (or GitHub's API) read for who signed in. Throws an
 * IdentityProviderError for any failure.
 */
export async function completeAuthorization(
  provider: IdentityProvider,
  answer: URLSearchParams,
  request: AuthorizationRequest & { redirectUri: string; now: Date },
): Promise<ProvedIdentity> {
  return guarded(async () => {
    const server = await authorizationServer(provider, request.now);
    const parameters = oauth.validateAuthResponse(server, { client_id: provider.clientId }, answer, request.state);
    const response = await tokenResponse(provider, server, parameters, request);
    return provider.kind === "github"
      ? githubIdentity(provider, server, response)
      : oidcIdentity(provider, server, response, request.nonce);
  });
}
