// Signing in with an identity provider: the flow's start (a redirect, its state sealed in a cookie bound to the
// browser), the callback (the provider's answer checked, the account rules applied, a one-time code sent back to
// the client in the URL's fragment), the code's exchange for a session, and a signed-in person's identities.
import { z } from "zod";
import { randomToken, s256CodeChallenge, sha256 } from "../auth/crypto.ts";
import {
  type AuthorizationRequest,
  authorizationUrl,
  completeAuthorization,
  type IdentityProvider,
  IdentityProviderError,
  newAuthorizationRequest,
  type ProvedIdentity,
  providerOf,
} from "../auth/oidc.ts";
import { seal, unseal } from "../auth/seal.ts";
import type { AccessClaims } from "../auth/tokens.ts";
import type { Config } from "../config.ts";
import { isUniqueViolation } from "../db/errors.ts";
import {
  createLinkIntent,
  exchangeSignInCode,
  findIdentityOwner,
  type IdentityOwner,
  type IdentitySignIn,
  listIdentities,
  type ProviderIdentity,
  recordIdentitySignIn,
  unlinkIdentity,
  type UnlinkedBy,
} from "../db/identities.ts";
import { endingSessions } from "../edge/revocations.ts";
import { ApiError, failure } from "../errors.ts";
import { identityLinkedNotice, identityUnlinkedNotice } from "../mail/templates.ts";
import { POLICY } from "../policy.ts";
import type {
  IdentityProviderView,
  IdentityView,
  LinkIdentityRequest,
  OidcExchangeRequest,
  OidcStartQuery,
} from "../schemas/identities.ts";
import type { SignedIn } from "../schemas/tokens.ts";
import { EmailSchema, NameSchema } from "../schemas/user.ts";
import { secondsAfter, type ServiceContext } from "./context.ts";
import { signingInDevice } from "./devices.ts";
import { provePassword, signedIn } from "./guards/password.ts";
import { deliverLater, mailToQueue } from "./mail-delivery.ts";
import { secondFactorRequired } from "./mfa.ts";
import { statusRefusal } from "./sessions.ts";
import { requireRecentAuthentication } from "./step-up.ts";
import { mintSignIn, newSession } from "./tokens.ts";

/** The providers people may sign in with here, as a client lists them. */
export function listProviders(config: Config): IdentityProviderView[] {
  return config.OIDC_PROVIDERS.map(providerOf).map(({ id, label }) => ({ id, label }));
}

function configuredProvider(config: Config, id: string): IdentityProvider {
  const setting = config.OIDC_PROVIDERS.find((provider) => provider.id === id);
  if (!setting) throw new ApiError("oidc_provider_unknown", `No identity provider "${id}" is configured here.`);
  return providerOf(setting);
}

/** Where the provider sends its answer: registered with the provider as the app's redirect URI. */
export function callbackUrl(config: Config, provider: string): string {
  return `${config.PUBLIC_ORIGIN}/auth/oidc/${provider}/callback`;
}

/** Only an address the deployment lists, exactly: anything else would make the callback an open redirect. */
function allowedReturn(config: Config, returnTo: string): string {
  if (!config.OIDC_RETURN_URLS.includes(returnTo)) {
    throw new ApiError(
      "oidc_return_not_allowed",
      "return_to is not one of the addresses this deployment sends a sign-in back to (OIDC_RETURN_URLS).",
    );
  }
  return returnTo;
}

/** What the browser keeps between the start and the callback, sealed (only this API can read or make it). */
const FlowSchema = z.object({
  provider: z.string(),
  state: z.string(),
  nonce: z.string(),
  codeVerifier: z.string(),
  returnTo: z.string(),
  link: z.string().optional(),
  /** The client's S256 code challenge: its sign-in code is then bound to the verifier. */
  codeChallenge: z.string().optional(),
  expiresAt: z.number(),
});
type Flow = z.infer<typeof FlowSchema>;

/** The cookie that binds a flow to the browser that started it. */
export interface FlowCookie {
  value: string;
  maxAgeSeconds: number;
  /** Lax, unless the provider posts its answer back (a cross-site POST carries only a None cookie). */
  sameSite: "Lax" | "None";
}

const providerUnavailable = () =>
  new ApiError("service_unavailable", "The identity provider cannot be reached just now. Try again shortly.", {
    retryAfterSeconds: POLICY.identities.retryAfterSeconds,
  });

/** A provider's failure as the client is told it; the reason is logged, never a stack or the provider's text alone. */
function providerFailure(ctx: ServiceContext, provider: string, error: unknown): never {
  if (!(error instanceof IdentityProviderError)) throw error;
  ctx.log.warn("identity provider sign-in failed", { provider, reason: error.reason, error: error.message });
  if (error.reason === "unavailable") throw providerUnavailable();
  throw new ApiError(
    "oidc_failed",
    error.reason === "refused"
      ? `${provider} did not sign you in (${error.message}). Start again to try once more.`
      : `${provider}'s answer did not verify, so nobody was signed in. Start again.`,
  );
}

/**
 * The start: no round trip to the database. The state, nonce and PKCE verifier go in a sealed cookie for this
 * browser, and the browser goes to the provider. A signed-in person's link intent (from startLink) rides along.
 */
export async function startSignIn(
  ctx: ServiceContext,
  providerId: string,
  query: OidcStartQuery,
): Promise<{ location: string; cookie: FlowCookie }> {
  const provider = configuredProvider(ctx.config, providerId);
  const returnTo = allowedReturn(ctx.config, query.return_to);
  if (query.link === undefined && query.code_challenge === undefined && !isWebAddress(returnTo)) {
    throw new ApiError(
      "oidc_code_challenge_required",
      "return_to is an app's own scheme, which another app can claim: send a code_challenge, and its code_verifier with the code.",
    );
  }
  const request = newAuthorizationRequest();
  const redirectUri = callbackUrl(ctx.config, provider.id);
  const url = await authorizationUrl(provider, { ...request, redirectUri, now: ctx.now }).catch((error: unknown) =>
    providerFailure(ctx, provider.label, error),
  );
  const maxAgeSeconds = POLICY.identities.flowMinutes * 60;
  const flow: Flow = {
    provider: provider.id,
    ...request,
    returnTo,
    link: query.link,
    codeChallenge: query.code_challenge,
    expiresAt: ctx.now.getTime() + maxAgeSeconds * 1000,
  };
  const value = await seal(ctx.config.HASH_SECRET, JSON.stringify(flow), "oidc");
  return { location: url.href, cookie: { value, maxAgeSeconds, sameSite: provider.formPost ? "None" : "Lax" } };
}

const stateMismatch = () =>
  new ApiError(
    "oidc_state_mismatch",
    "This sign-in was not started in this browser, or it took too long. Start again from the app's sign-in page.",
  );

/** The browser's flow, if its cookie is ours, live, for this provider, and for the state the provider answered. */
async function flowOf(ctx: ServiceContext, cookie: string | undefined, provider: string, state: string | undefined): Promise<Flow> {
  if (cookie === undefined || state === undefined) throw stateMismatch();
  const opened = await unseal(ctx.config.HASH_SECRET, cookie, "oidc").then(
    (text) => FlowSchema.safeParse(JSON.parse(text)),
    () => undefined,
  );
  const flow = opened?.success ? opened.data : undefined;
  if (!flow || flow.provider !== provider || flow.expiresAt <= ctx.now.getTime() || flow.state !== state) throw stateMismatch();
  return flow;
}

/** The one-time code of a sign-in: its secret part is stored hashed; the rest names what it is for (checked against its row). */
interface SignInCodeText {
  userId: string;
  identityId: string;
  multiFactor: boolean;
  secret: string;
}

/**
 * What a sign-in code is stored as: the SHA-256 of its secret and, when the start was given a code challenge, of
 * that challenge too. An exchange recomputes it from the verifier it is sent, so a code taken on its way back to the
 * client (another app claiming its scheme, a leaked address) opens nothing without the verifier, and a wrong one
 * does not spend it.
 */
function signInCodeHash(secret: string, codeChallenge: string | undefined): Promise<Uint8Array> {
  return sha256(codeChallenge === undefined ? secret : `${secret}.${codeChallenge}`);
}

/** https:// or http:// (a local one): a browser's page. Anything else is an app's own scheme. */
function isWebAddress(address: string): boolean {
  const { protocol } = new URL(address);
  return protocol === "https:" || protocol === "http:";
}

const SIGN_IN_CODE = /^(\d{1,19})\.([0-9a-f-]{36})\.([01])\.([A-Za-z0-9_-]{43})$/;

function signInCodeText(code: SignInCodeText): string {
  return `${code.userId}.${code.identityId}.${code.multiFactor ? 1 : 0}.${code.secret}`;
}

function parseSignInCode(text: string): SignInCodeText | undefined {
  const [, userId, identityId, multiFactor, secret] = SIGN_IN_CODE.exec(text) ?? [];
  if (userId === undefined || identityId === undefined || secret === undefined) return undefined;
  return { userId, identityId, multiFactor: multiFactor === "1", secret };
}

/** A provider's name for a person, as this API keeps names: first word, then the rest; dropped if it breaks the rules. */
function namesOf(name: string | null): { first: string | null; last: string | null } {
  const [first, ...rest] = (name ?? "").trim().split(/\s+/);
  const parsed = (text: string | undefined) =>
    NameSchema.safeParse(text === undefined || text === "" ? null : text.slice(0, 100)).data ?? null;
  return { first: parsed(first), last: parsed(rest.join(" ")) };
}

/**
 * Whose account a provider's sign-in is (the rules of docs/SECURITY.md, "Signing in with an identity provider"):
 * a known identity is its account's; a link intent links to the person who made it; otherwise the provider must
 * have verified the address, and then an account that proved it gets the identity linked, a signup nobody proved
 * gives way, and else a new account is made.
 */
async function decideSignIn(
  ctx: ServiceContext,
  provider: IdentityProvider,
  proved: ProviderIdentity,
  owner: IdentityOwner,
  linkTokenHash: Uint8Array | undefined,
): Promise<IdentitySignIn | { kind: "already_linked"; userId: string }> {
  const linkedNotice = () => mailToQueue(ctx, identityLinkedNotice(provider.label));
  if (linkTokenHash) {
    const userId = owner.linkFor;
    if (userId === undefined) throw new ApiError("link_invalid", "This link request was used already or has expired. Ask to link again.");
    if (owner.identity) {
      if (owner.identity.userId !== userId) throw identityTaken(provider.label);
      return { kind: "already_linked", userId };
    }
    return { kind: "link", identity: { ...proved, id: crypto.randomUUID() }, userId, notice: await linkedNotice(), linkTokenHash };
  }
  if (owner.identity) {
    if (owner.identity.status !== "verified") throw statusRefusal(owner.identity.status, null);
    return { kind: "known", identityId: owner.identity.id, userId: owner.identity.userId };
  }
  if (proved.email === null || !proved.emailVerified) {
    throw new ApiError(
      "oidc_email_unverified",
      `${provider.label} has not verified your address, so it cannot make or open an account here. Verify it there, or sign up with your address.`,
    );
  }
  const account = owner.account;
  if (account?.proved) {
    if (account.status !== "verified") throw statusRefusal(account.status, null);
    return { kind: "link", identity: { ...proved, id: crypto.randomUUID() }, userId: account.id, notice: await linkedNotice() };
  }
  return { kind: "new", identity: { ...proved, id: crypto.randomUUID() }, names: namesOf(proved.name) };
}

const identityTaken = (provider: string) =>
  new ApiError("identity_taken", `This ${provider} account is linked to another account here. Unlink it there first.`);

/** What a provider says of the person, as the account rules compare it: the address normalised as signup does. */
function providerIdentity(provider: IdentityProvider, identity: ProvedIdentity): ProviderIdentity {
  const email = identity.email === null ? undefined : EmailSchema.safeParse(identity.email).data;
  return {
    provider: provider.id,
    subject: identity.subject,
    email: email ?? null,
    emailVerified: identity.emailVerified,
    name: identity.name,
  };
}

/**
 * The callback: at most two round trips (who the identity and its address belong to, then the write). The answer is
 * checked against the browser's flow first; nothing is written unless the provider's answer verified and the
 * account rules allow it. Answers where the browser goes next: the client's address with `#oidc_code=…` (or
 * `#oidc_linked=…` for a link), never a token.
 */
export async function finishSignIn(
  ctx: ServiceContext,
  providerId: string,
  answer: URLSearchParams,
  cookie: string | undefined,
): Promise<{ location: string }> {
  const provider = configuredProvider(ctx.config, providerId);
  const flow = await flowOf(ctx, cookie, provider.id, answer.get("state") ?? undefined);
  const request: AuthorizationRequest & { redirectUri: string; now: Date } = {
    ...flow,
    redirectUri: callbackUrl(ctx.config, provider.id),
    now: ctx.now,
  };
  const identity = await completeAuthorization(provider, answer, request).catch((error: unknown) =>
    providerFailure(ctx, provider.label, error),
  );
  const proved = providerIdentity(provider, identity);
  const linkTokenHash = flow.link === undefined ? undefined : await sha256(flow.link);
  const owner = await findIdentityOwner(ctx.db, proved, linkTokenHash && { tokenHash: linkTokenHash, provider: provider.id, now: ctx.now });
  const signIn = await decideSignIn(ctx, provider, proved, owner, linkTokenHash);
  const linked = `${flow.returnTo}#oidc_linked=${encodeURIComponent(provider.id)}`;
  if (signIn.kind === "already_linked") return { location: linked };
  const secret = randomToken();
  const code =
    signIn.kind === "link" && signIn.linkTokenHash
      ? undefined
      : {
          hash: await signInCodeHash(secret, flow.codeChallenge),
          expiresAt: secondsAfter(ctx.now, POLICY.identities.codeSeconds),
          multiFactor: identity.multiFactor,
        };
  const written = await recordIdentitySignIn(ctx.db, { signIn, code, events: ctx.events }).catch((error: unknown) => {
    // another sign-in of the same person made the identity or the account first: this one's answer is stale
    if (isUniqueViolation(error, "identities_provider_subject_key") || isUniqueViolation(error, "users_email_key")) {
      throw new ApiError("identity_taken", "Another sign-in of this account just finished. Start again.");
    }
    throw error;
  });
  if (!written)
    throw code ? stateMismatch() : new ApiError("link_invalid", "This link request was used already or has expired. Ask to link again.");
  deliverLater(ctx, written.notice);
  if (!code) return { location: linked };
  const identityId = signIn.kind === "known" ? signIn.identityId : signIn.identity.id;
  const text = signInCodeText({ userId: written.userId, identityId, multiFactor: identity.multiFactor, secret });
  return { location: `${flow.returnTo}#oidc_code=${encodeURIComponent(text)}` };
}

const codeInvalid = () =>
  new ApiError("oidc_code_invalid", "This sign-in code was used already, has expired or is unknown. Sign in with the provider again.");

/**
 * The exchange: one round trip. The code is spent and, in the same statement, a session starts (answered as a
 * login's: the token pair and a device token), or, for an account with our second factor when the provider asserted
 * none, a challenge is stored that POST /auth/login/mfa completes.
 */
export async function exchangeCode(ctx: ServiceContext, input: OidcExchangeRequest): Promise<SignedIn> {
  const code = parseSignInCode(input.code);
  if (!code) throw codeInvalid();
  const { userId, identityId, multiFactor } = code;
  const presented = input.device_token === undefined ? undefined : { presentedTokenHash: await sha256(input.device_token) };
  const device = await signingInDevice(ctx, userId, presented);
  const challengeToken = randomToken();
  const challengeSeconds = ctx.config.MFA_CHALLENGE_TTL_SECONDS;
  const [{ fresh, refreshToken }, codeHash, challengeHash] = await Promise.all([
    newSession(ctx, { proved: multiFactor ? ["fed", "mfa"] : ["fed"], report: device.report, identityId }),
    signInCodeHash(code.secret, input.code_verifier === undefined ? undefined : await s256CodeChallenge(input.code_verifier)),
    sha256(challengeToken),
  ]);
  const exchanged = await exchangeSignInCode(ctx.db, {
    code: { hash: codeHash, userId, identityId, multiFactor },
    fresh,
    device: device.signIn,
    notice: device.notice,
    challenge: { tokenHash: challengeHash, expiresAt: secondsAfter(ctx.now, challengeSeconds) },
    events: ctx.events,
  });
  if (exchanged.outcome === "second_factor") throw secondFactorRequired("The provider signed you in", challengeToken, challengeSeconds);
  if (exchanged.outcome === "gone") throw codeInvalid();
  deliverLater(ctx, exchanged.deviceNotice);
  return mintSignIn(ctx, exchanged.standing, refreshToken, device.token);
}

/**
 * A signed-in person asks to link an identity (step-up applies; their password too, where the account has one).
 * Answers the start address that carries the intent: ten minutes, once, and only to this person's account.
 */
export async function startLink(ctx: ServiceContext, actor: AccessClaims, providerId: string, input: LinkIdentityRequest): Promise<string> {
  const provider = configuredProvider(ctx.config, providerId);
  const returnTo = allowedReturn(ctx.config, input.return_to);
  requireRecentAuthentication(ctx, actor);
  const passwordRun =
    input.current_password === undefined
      ? undefined
      : (await provePassword(ctx, signedIn(actor), input.current_password, "identity_link")).holder.run;
  const token = randomToken();
  const stored = await createLinkIntent(ctx.db, {
    tokenHash: await sha256(token),
    userId: actor.userId,
    provider: provider.id,
    expiresAt: secondsAfter(ctx.now, POLICY.identities.linkMinutes * 60),
    passwordRun,
    now: ctx.now,
  });
  if (!stored) {
    throw new ApiError("validation_failed", "Linking a provider to an account with a password needs that password (current_password).", {
      members: { errors: [{ in: "json", field: "current_password", message: "Required: your account has a password" }] },
    });
  }
  const start = new URL(`${ctx.config.PUBLIC_ORIGIN}/auth/oidc/${provider.id}/start`);
  start.searchParams.set("return_to", returnTo);
  start.searchParams.set("link", token);
  return start.href;
}

function identityView(identity: Awaited<ReturnType<typeof listIdentities>>[number]): IdentityView {
  return {
    id: identity.id,
    provider: identity.provider,
    email: identity.email,
    linked_at: identity.linked_at.toISOString(),
    last_sign_in_at: identity.last_sign_in_at?.toISOString() ?? null,
  };
}

/** A user's identities (their own, or any user's for an admin). One round trip. */
export async function identitiesOf(ctx: ServiceContext, userId: string): Promise<IdentityView[]> {
  return (await listIdentities(ctx.db, userId)).map(identityView);
}

/** What an unlinking's outcome answers, when it is not done. */
function refusedUnlink(outcome: "forbidden" | "not_found" | "last_way", by: UnlinkedBy): ApiError {
  if (outcome === "forbidden")
    return by === "owner" ? failure("session_ended") : new ApiError("forbidden", "Your account no longer allows this.");
  if (outcome === "not_found") return new ApiError("identity_not_found", "There is no identity with this id on this account.");
  return new ApiError(
    "last_sign_in_method",
    "This is the account's only way to sign in: set a password (“Forgot password” mails a code) or link another way first.",
  );
}

/**
 * Unlinks one of the person's identities (step-up applies), unless it is their last way to sign in: the sessions it
 * started end, and the owner is told. One round trip.
 */
export async function unlinkOwnIdentity(ctx: ServiceContext, actor: AccessClaims, identityId: string): Promise<void> {
  await unlink(ctx, actor, { userId: actor.userId, identityId, by: "owner" });
}

/**
 * An admin's unlinking of a user's identity (their provider account was taken over, or is lost): every session of the
 * user ends, the user is told. Not one's own: an admin unlinks theirs as its owner. One round trip.
 */
export async function unlinkUserIdentity(ctx: ServiceContext, actor: AccessClaims, userId: string, identityId: string): Promise<void> {
  if (actor.userId === userId) {
    throw new ApiError("cannot_unlink_own_identity", "Unlink your own identities with DELETE /auth/identities/{id}.");
  }
  await unlink(ctx, actor, { userId, identityId, by: "admin" });
}

async function unlink(ctx: ServiceContext, actor: AccessClaims, which: { userId: string; identityId: string; by: UnlinkedBy }) {
  requireRecentAuthentication(ctx, actor);
  const result = await endingSessions(ctx, async (ender) =>
    unlinkIdentity(ctx.db, ender, {
      ...which,
      actor: { id: actor.userId, needs: which.by === "admin" ? "admin" : "user" },
      notice: await mailToQueue(ctx, identityUnlinkedNotice(which.by)),
      events: ctx.events,
    }),
  );
  if (result.outcome !== "unlinked") throw refusedUnlink(result.outcome, which.by);
  deliverLater(ctx, result.notice);
}
