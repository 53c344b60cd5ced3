// The signed-in operator's tokens, held in this module's memory only: never in localStorage,
// sessionStorage, a cookie or the URL, so no other script, tab or later visitor of the browser can read
// them, and a reload signs out (docs/SECURITY.md, "The admin console"). Every API call of the console
// goes through `adminApi`, which adds the access token, renews it before it expires, asks the operator
// to confirm who they are when a change needs a recent sign-in, and signs out when the API says the
// session is over.
import { type AccessToken, ApiProblem, createApi, perform, type TokenPair } from "./api.ts";
import { watchIdle } from "./idle.ts";
import { usePasskey } from "./passkeys.ts";

/** Signed out after this long without a key press, click or touch. */
const IDLE_LIMIT_MINUTES = 15;
const SESSION_ENDED = "Your session has ended: sign in again.";
// renew a little before the access token expires, so a request never leaves with a dying one
const RENEW_BEFORE_EXPIRY_MS = 30_000;

interface Tokens {
  accessToken: string;
  refreshToken: string;
  accessExpiresAt: number;
}

/** What re-authenticating takes: the password, and a code of the app when the session was made with one. */
export interface Reauthentication {
  password: string;
  code?: string;
}

/** How the session was made: a password alone, a password and a code of the app, or a passkey. */
export type SignInMethod = "password" | "code" | "passkey";

/**
 * Asks the operator to confirm who they are, the way the session was made; answers whether they did
 * (`reauthenticate` or `reauthenticateWithPasskey` succeeded) or gave up.
 */
export type ReauthenticationPrompt = (madeWith: SignInMethod) => Promise<boolean>;

let tokens: Tokens | undefined;
let madeWith: SignInMethod = "password";
let prompt: ReauthenticationPrompt | undefined;
let renewing: Promise<boolean> | undefined;
let stopIdleWatch: (() => void) | undefined;
const endListeners: ((reason: string | undefined) => void)[] = [];

/** Login, refresh and logout: the calls that carry no access token. */
export const publicApi = createApi((request) => fetch(request));
/** Every other call: with the access token, renewed as needed. */
export const adminApi = createApi(authorizedFetch);

function held(pair: TokenPair): Tokens {
  return { accessToken: pair.access_token, refreshToken: pair.refresh_token, accessExpiresAt: Date.now() + pair.expires_in * 1000 };
}

/** Holds a new session's tokens and starts the idle timer. */
export function beginSession(pair: TokenPair, method: SignInMethod): void {
  tokens = held(pair);
  madeWith = method;
  stopIdleWatch?.();
  stopIdleWatch = watchIdle(IDLE_LIMIT_MINUTES * 60_000, () => {
    void signOut(`You were signed out after ${IDLE_LIMIT_MINUTES} minutes without activity.`);
  });
}

/** How this session was made (the sign-in asked for a code, or the app was just turned on: `code`); none when signed out. */
export function signInMethod(): SignInMethod | undefined {
  return tokens === undefined ? undefined : madeWith;
}

/** Who asks the operator when a change answers `reauthentication_required` (the page's dialog). */
export function onReauthenticationRequired(ask: ReauthenticationPrompt): void {
  prompt = ask;
}

/**
 * Confirms the operator's password (and code) to the API: the session goes on with an access token of a fresh
 * sign-in time. Answers the API's refusal, in words, or nothing when it worked. Not through `adminApi`: a wrong
 * password's 401 is an answer to show here, not a sign that the session ended.
 */
export async function reauthenticate(proof: Reauthentication): Promise<ApiProblem | undefined> {
  const token = await accessToken();
  const { data, error, response } = await publicApi.POST("/auth/reauthenticate", {
    body: proof,
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!data) return new ApiProblem(response, error);
  renewedAccess(data);
  return undefined;
}

/** The session goes on with the access token a re-authentication answered (its refresh token unchanged). */
function renewedAccess(access: AccessToken): void {
  if (tokens) tokens = { ...tokens, accessToken: access.access_token, accessExpiresAt: Date.now() + access.expires_in * 1000 };
}

/**
 * Confirms the operator with one of their passkeys: the session's challenge, the browser's prompt, the assertion to
 * the API. Answers the API's refusal, or nothing when it worked; the browser's refusal (the prompt closed) is thrown.
 */
export async function reauthenticateWithPasskey(): Promise<ApiProblem | undefined> {
  const headers = { Authorization: `Bearer ${await accessToken()}` };
  const options = await publicApi.POST("/auth/passkeys/reauthentication/options", { headers });
  if (!options.data) return new ApiProblem(options.response, options.error);
  const credential = await usePasskey(options.data);
  const { data, error, response } = await publicApi.POST("/auth/passkeys/reauthentication", { body: { credential }, headers });
  if (!data) return new ApiProblem(response, error);
  renewedAccess(data);
  return undefined;
}

/** Called with the reason (none for a plain sign-out) whenever the session ends. */
export function onSessionEnd(listener: (reason: string | undefined) => void): void {
  endListeners.push(listener);
}

/** Forgets the tokens and tells the listeners; the API's session is not touched. */
function forget(reason: string | undefined): void {
  if (!tokens) return;
  tokens = undefined;
  stopIdleWatch?.();
  stopIdleWatch = undefined;
  for (const listener of endListeners) listener(reason);
}

/**
 * Ends the session at the API (its refresh and access tokens stop working), then forgets it. The
 * console signs out even when the API cannot be reached: its tokens are gone from memory either way.
 * `keepalive` lets the request outlive the page.
 */
export async function signOut(reason?: string, options: { keepalive?: boolean } = {}): Promise<void> {
  const current = tokens;
  if (!current) return;
  forget(reason);
  const ending = publicApi.POST("/auth/logout", { body: { refresh_token: current.refreshToken }, keepalive: options.keepalive ?? false });
  await perform(ending).catch(() => undefined);
}

// Leaving or reloading the page loses the tokens: end their session too, rather than leave it open on
// the server until its refresh token expires, and clear the page before the browser may keep it.
addEventListener("pagehide", () => void signOut(undefined, { keepalive: true }));

/**
 * Trades the refresh token for a new pair; one renewal at a time, shared by every request that needs
 * it (a refresh token is single use). Answers whether the session goes on; signs out when the API
 * says it ended (logged out elsewhere, the account disabled or its role changed, the token reused).
 */
function renew(): Promise<boolean> {
  renewing ??= (async () => {
    const current = tokens;
    if (!current) return false;
    try {
      const { data, response } = await publicApi.POST("/auth/refresh", { body: { refresh_token: current.refreshToken } });
      if (tokens !== current) return false;
      if (data) {
        tokens = held(data);
        return true;
      }
      if (response.status === 400 || response.status === 401 || response.status === 403) {
        forget(SESSION_ENDED);
      }
      return false;
    } catch {
      // the network failed: keep the session, the request that needed it reports the failure
      return false;
    }
  })().finally(() => {
    renewing = undefined;
  });
  return renewing;
}

/** The operator cancelled the dialog that asked who they are: the change was not made, and they know why. */
export class StepUpDeclined extends Error {
  constructor() {
    super("Cancelled.");
    this.name = "StepUpDeclined";
  }
}

/** A request made after the session ended; the view that made it is gone by then. */
class SignedOut extends Error {
  constructor() {
    super("Signed out.");
    this.name = "SignedOut";
  }
}

async function accessToken(): Promise<string> {
  if (tokens && Date.now() > tokens.accessExpiresAt - RENEW_BEFORE_EXPIRY_MS) await renew();
  if (!tokens) throw new SignedOut();
  return tokens.accessToken;
}

function withBearer(request: Request, token: string): Request {
  request.headers.set("Authorization", `Bearer ${token}`);
  return request;
}

/** The problem code of a refusal, read from a copy so the caller can still read the body. */
async function problemCode(response: Response): Promise<string | undefined> {
  const body: unknown = await response
    .clone()
    .json()
    .catch(() => undefined);
  return new ApiProblem(response, body).code;
}

async function authorizedFetch(request: Request): Promise<Response> {
  const spare = request.clone();
  const response = await fetch(withBearer(request, await accessToken()));
  if (response.status !== 401) return response;
  // a change that needs a recent sign-in: ask, and send it again once the operator confirmed who they are
  if ((await problemCode(response)) === "reauthentication_required") {
    if (!prompt) return response;
    if (!(await prompt(madeWith))) throw new StepUpDeclined();
    if (!tokens) return response;
    return fetch(withBearer(spare, tokens.accessToken));
  }
  // the access token was refused: renew once and try again; a second refusal means the session is over
  if (!(await renew()) || !tokens) return response;
  const retried = await fetch(withBearer(spare, tokens.accessToken));
  if (retried.status === 401) forget(SESSION_ENDED);
  return retried;
}
