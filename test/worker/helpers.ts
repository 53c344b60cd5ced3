import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, inject } from "vitest";
import type { Clock } from "../../src/http/router.ts";
import { type AppDependencies, buildApp } from "../../src/app.ts";
import { hashPassword } from "../../src/auth/passwords.ts";
import { getDb } from "../../src/db/client.ts";
import { insertUser } from "../../src/db/users.ts";
import type { Problem } from "../../src/schemas/problem.ts";
import type { SignedIn, TokenPair } from "../../src/schemas/tokens.ts";
import type { UserRole } from "../../src/schemas/user.ts";
import worker from "../../src/index.ts";
import { expectDocumented } from "./documented-responses.ts";

export const BASE_URL = "https://api.coffee.test";

export type Call = (path: string, init?: RequestInit) => Promise<Response>;

/**
 * A client of the Worker's entry point. Each call waits for the work the Worker left in waitUntil
 * (sending mail, say), so what a test reads next is settled, and checks that the answer is one the
 * OpenAPI document declares. `env` replaces settings; `clock` runs the same app with a clock the
 * test controls.
 */
export function client(
  options: { env?: Record<string, unknown>; clock?: Clock; revocationEdge?: AppDependencies["revocationEdge"] } = {},
): Call {
  const { clock, revocationEdge } = options;
  const handler =
    clock || revocationEdge ? buildApp({ ...(clock ? { clock } : {}), ...(revocationEdge ? { revocationEdge } : {}) }) : worker;
  return async (path, init) => {
    const ctx = createExecutionContext();
    const request = new Request(`${BASE_URL}${path}`, init);
    const response = await handler.fetch(request.clone(), { ...env, ...options.env }, ctx);
    await waitOnExecutionContext(ctx);
    await expectDocumented(request, response);
    return response;
  };
}

export const api = client();

export function json(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) };
}

export function bearer(token: string, init: RequestInit = {}): RequestInit {
  return { ...init, headers: { ...Object.fromEntries(new Headers(init.headers)), Authorization: `Bearer ${token}` } };
}

/** A clock a test moves by hand. */
export function manualClock(start = new Date()): Clock & { advance(seconds: number): void } {
  let now = start.getTime();
  const clock = () => new Date(now);
  clock.advance = (seconds: number) => {
    now += seconds * 1000;
  };
  return clock;
}

interface Stats {
  requests: Record<string, number>;
  sql_by_user: Record<string, number>;
}

async function sqlRequestsBy(user: string): Promise<number> {
  const response = await fetch(`${inject("localServicesUrl")}/stats`);
  const stats: Stats = await response.json();
  return stats.sql_by_user[user] ?? 0;
}

/**
 * Counts the SQL round trips (HTTP requests to the Neon-protocol endpoint) that `action` causes,
 * including work the Worker finishes in waitUntil. The requests go out under a database user name of
 * their own, so tests running at the same time do not disturb the count.
 */
export async function countRoundTrips<T>(
  action: (call: Call) => Promise<T>,
  options: { clock?: Clock } = {},
): Promise<{ result: T; roundTrips: number }> {
  const user = `rt_${crypto.randomUUID().replaceAll("-", "")}`;
  const result = await action(client({ ...options, env: { DATABASE_URL: databaseUrlAs(user) } }));
  return { result, roundTrips: await sqlRequestsBy(user) };
}

/** Asserts an RFC 9457 answer with the given status and code, and returns its body. */
export async function expectProblem(response: Response, status: number, code: string): Promise<Problem> {
  const body: Problem = await response.json();
  expect({ status: response.status, code: body.code }).toEqual({ status, code });
  expect(response.headers.get("Content-Type")).toBe("application/problem+json");
  expect(body).toMatchObject({ status, type: `urn:coffee-shop:problem:${code.replaceAll("_", "-")}` });
  expect(body.title).toEqual(expect.any(String));
  expect(body.detail).toEqual(expect.any(String));
  expect(body.request_id).toBe(response.headers.get("X-Request-Id"));
  return body;
}

export function uniqueEmail(label = "user"): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}@coffee.test`;
}

interface CapturedMail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  created_at: string;
}

/** The messages the mail catcher got for `address`, newest first. */
export async function mailTo(address: string, servicesUrl = inject("localServicesUrl")): Promise<CapturedMail[]> {
  const response = await fetch(`${servicesUrl}/emails?to=${encodeURIComponent(address)}`);
  return response.json();
}

/** The code in the newest message to `address`. */
export async function latestCode(address: string, servicesUrl = inject("localServicesUrl")): Promise<string> {
  const [newest] = await mailTo(address, servicesUrl);
  const code = newest && /\b(\d{6})\b/.exec(newest.text)?.[1];
  if (!code) throw new Error(`no code was mailed to ${address}`);
  return code;
}

/** The cancel token of the newest deletion mailed to `address` (printed in it where no cancel page is configured). */
export async function deletionTokenMailedTo(address: string, servicesUrl = inject("localServicesUrl")): Promise<string> {
  const mail = (await mailTo(address, servicesUrl)).find((message) => message.subject.includes("will be deleted"));
  const token = mail && /cancellation code \(it works once\): ([\w-]{43})/.exec(mail.text)?.[1];
  if (!token) throw new Error(`no deletion was mailed to ${address}`);
  return token;
}

export const PASSWORD = "correct horse battery staple";

export interface TestUser {
  id: number;
  email: string;
  password: string;
}

/** Signs up and verifies through the API, as a client would, reading the code from `servicesUrl`'s mail catcher. */
export async function verifiedUser(call: Call = api, servicesUrl = inject("localServicesUrl")): Promise<TestUser> {
  const email = uniqueEmail();
  const signup = await call("/auth/signup", json("POST", { email, password: PASSWORD }));
  expect(signup.status).toBe(201);
  const { id } = await signup.json<{ id: number }>();
  const verify = await call("/auth/verify", json("POST", { email, code: await latestCode(email, servicesUrl), password: PASSWORD }));
  expect(verify.status).toBe(200);
  return { id, email, password: PASSWORD };
}

// One hash of PASSWORD per test file: a seeded user is where the test starts, not what it tests.
let passwordHash: Promise<string> | undefined;

/**
 * A verified user (or an admin), made the way `npm run users -- create` makes one, with PASSWORD: for tests
 * whose subject is not signing up.
 */
export async function seededUser(role: UserRole = "user", databaseUrl = inject("databaseUrl")): Promise<TestUser> {
  const email = uniqueEmail(role);
  passwordHash ??= hashPassword(PASSWORD);
  const created = await insertUser(getDb(databaseUrl), {
    email,
    passwordHash: await passwordHash,
    firstName: null,
    lastName: null,
    status: "verified",
    role,
    now: new Date(),
  });
  if (!created) throw new Error("seeding failed");
  return { id: Number(created.id), email, password: PASSWORD };
}

export type Tokens = TokenPair;

/** Logs in as a client would, from the device whose token is given (a known device), or from a new one. */
export async function login(user: TestUser, call: Call = api, deviceToken?: string): Promise<SignedIn> {
  const response = await call("/auth/login", json("POST", { email: user.email, password: user.password, device_token: deviceToken }));
  expect(response.status).toBe(200);
  return response.json();
}

/**
 * Makes the mail catcher refuse the next `count` messages (to `to`, if given: files running at once must not
 * meet each other's failures), as Resend does when it is down.
 */
export async function failNextMail(count: number, servicesUrl = inject("localServicesUrl"), to?: string): Promise<void> {
  const response = await fetch(`${servicesUrl}/emails/failures`, json("POST", { count, status: 500, ...(to === undefined ? {} : { to }) }));
  expect(response.ok).toBe(true);
}

export interface SqlFault {
  mode: "status" | "hang" | "drop" | "fail-query";
  /** The database user it applies to: give each test its own (see `databaseUrlAs`). */
  user: string;
  count?: number;
  skip?: number;
  status?: number;
  ms?: number;
  query?: number;
}

/** Arms a fault of the local SQL endpoint (tools/local-services/sql-faults.ts) for one database user. */
export async function armSqlFault(fault: SqlFault, servicesUrl = inject("localServicesUrl")): Promise<void> {
  const response = await fetch(`${servicesUrl}/sql/faults`, json("POST", fault));
  expect(response.ok).toBe(true);
}

export async function clearSqlFault(servicesUrl = inject("localServicesUrl")): Promise<void> {
  await fetch(`${servicesUrl}/sql/faults`, { method: "DELETE" });
}

export interface Gate {
  /** The database user whose requests the gate watches: give the requests to stop a client of their own (`clientAs`). */
  user: string;
  /** Waits until the gate holds the request; true when it does (false after 5 s). */
  reached(): Promise<boolean>;
  /** Lets the held request go on. */
  release(): Promise<void>;
}

/**
 * Arms a gate of the local SQL endpoint (tools/local-services/sql-gates.ts): the request of `gate.user`
 * after `skip` others stops before its statement `beforeStatement` (0: before it starts; N: inside its
 * transaction, after N statements, which needs the PostgreSQL server) until the test releases it.
 */
export async function armGate(
  options: { skip?: number; beforeStatement?: number } = {},
  servicesUrl = inject("localServicesUrl"),
): Promise<Gate> {
  const user = `gate_${crypto.randomUUID().replaceAll("-", "")}`;
  const post = (path: string, body: Record<string, unknown>) => fetch(`${servicesUrl}/sql/gates${path}`, json("POST", { user, ...body }));
  expect((await post("", { skip: options.skip ?? 0, before_statement: options.beforeStatement ?? 0 })).ok).toBe(true);
  return {
    user,
    reached: async () => (await (await post("/reached", {})).json<{ held: boolean }>()).held,
    release: async () => {
      await post("/release", {});
    },
  };
}

/** A client whose SQL goes out as database user `user`, so gates, faults and counts can tell its requests apart. */
export function clientAs(user: string, options: { clock?: Clock } = {}): Call {
  return client({ ...options, env: { DATABASE_URL: databaseUrlAs(user) } });
}

/** The database URL with another user name: the local services count and fault requests by it. */
export function databaseUrlAs(user: string, databaseUrl = inject("databaseUrl")): string {
  const url = new URL(databaseUrl);
  url.username = user;
  return url.toString();
}
