// The console's one door to the API: openapi-fetch over the types generated from the API's OpenAPI
// document. Only this module names where the generated client lives, so moving it changes one line.
// (openapi.ts, not the client's index.ts: the index also carries hono/client over the Worker's own
// types, which would pull the Worker's whole source into the browser's type program.)
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "../clients/openapi.generated.ts";

type Schemas = components["schemas"];
export type User = Schemas["User"];
export type AdminUser = Schemas["AdminUser"];
export type UserStatus = Schemas["UserStatus"];
export type UserRole = Schemas["UserRole"];
export type UserSort = Schemas["UserSort"];
export type Session = Schemas["Session"];
export type AuthEvent = Schemas["AuthEvent"];
export type AuthEventType = Schemas["AuthEventType"];
export type DailyCount = Schemas["DailyCount"];
export type TokenPair = Schemas["TokenPair"];
export type AccessToken = Schemas["AccessToken"];
export type SignedIn = Schemas["SignedIn"];
export type MfaChallenge = Schemas["MfaChallenge"];
export type TotpEnrolment = Schemas["TotpEnrolment"];
export type Identity = Schemas["Identity"];
export type IdentityProvider = Schemas["IdentityProvider"];
export type Passkey = Schemas["Passkey"];
export type PasskeyCreationOptions = Schemas["PasskeyCreationOptions"];
export type PasskeyRequestOptions = Schemas["PasskeyRequestOptions"];
export type PasskeyAttestation = Schemas["PasskeyAttestation"];
export type PasskeyAssertion = Schemas["PasskeyAssertion"];
export type Api = Client<paths>;

/** A client of the API on this origin that sends every request through `send`. */
export function createApi(send: (request: Request) => Promise<Response>): Api {
  // nothing the API answers may be kept by the browser's cache either
  return createClient<paths>({ baseUrl: location.origin, fetch: send, cache: "no-store" });
}

/** An answer the API refused, in words a person can read (the problem's `detail`). */
export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string | undefined;
  /** A login's second-factor challenge, when the problem is `mfa_required`. */
  readonly challenge: MfaChallenge | undefined;

  constructor(response: Response, body: unknown) {
    super(problemDetail(response, body));
    this.name = "ApiProblem";
    this.status = response.status;
    this.code = isRecord(body) && typeof body.code === "string" ? body.code : undefined;
    this.challenge = isRecord(body) && isChallenge(body.challenge) ? body.challenge : undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isChallenge(value: unknown): value is MfaChallenge {
  return isRecord(value) && typeof value.token === "string" && typeof value.expires_in === "number" && Array.isArray(value.methods);
}

/** The problem's detail, with each invalid field's message; a plain sentence when the body is not a problem. */
function problemDetail(response: Response, body: unknown): string {
  if (!isRecord(body) || typeof body.detail !== "string") {
    return `The API answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""}.`;
  }
  const fields = Array.isArray(body.errors)
    ? body.errors.flatMap((error) =>
        isRecord(error) && typeof error.field === "string" && typeof error.message === "string" ? [`${error.field}: ${error.message}`] : [],
      )
    : [];
  return fields.length > 0 ? `${body.detail} (${fields.join("; ")})` : body.detail;
}

/** What every openapi-fetch call answers: data on success, the parsed error body otherwise. */
interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful answer; an ApiProblem otherwise. */
export async function read<T>(pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw new ApiProblem(response, error);
  if (data === undefined) throw new ApiProblem(response, undefined);
  return data;
}

/** Waits for an answer with no body (204); an ApiProblem when it is not a success. */
export async function perform(pending: Promise<Answer<unknown>>): Promise<void> {
  const { error, response } = await pending;
  if (!response.ok) throw new ApiProblem(response, error);
}

export interface Page<T> {
  items: T[];
  /** The cursor of the next page, from the `Link: <…>; rel="next"` header; none on the last page. */
  next: string | undefined;
  /** How many items the filters match (X-Total-Count), and whether that is all of them or where counting stopped. */
  total: { count: number; exact: boolean } | undefined;
}

/** One page of a keyset-paged list. */
export async function readPage<T>(pending: Promise<Answer<T[]>>): Promise<Page<T>> {
  const { data, error, response } = await pending;
  if (!response.ok || data === undefined) throw new ApiProblem(response, error);
  const count = response.headers.get("X-Total-Count");
  const total = count === null ? undefined : { count: Number(count), exact: response.headers.get("X-Total-Count-Exact") !== "false" };
  return { items: data, next: nextCursor(response.headers.get("Link")), total };
}

function nextCursor(link: string | null): string | undefined {
  const target = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1] : undefined;
  return target ? (new URL(target, location.origin).searchParams.get("cursor") ?? undefined) : undefined;
}
