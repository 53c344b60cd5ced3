// The API when what it depends on fails: the database down, slow or failing one statement, and the
// edge's revocation stores failing. The SQL endpoint's fault switch (tooling only) makes the failures;
// each test's requests go out under a database user of their own, and only those meet the fault.
import { decodeJwt } from "jose";
import { afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { getDb } from "../../src/db/client.ts";
import type { RevocationEdge } from "../../src/edge/revocations.ts";
import type { Clock } from "../../src/http/router.ts";
import {
  api,
  armSqlFault,
  bearer,
  type Call,
  clearSqlFault,
  client,
  databaseUrlAs,
  expectProblem,
  json,
  latestCode,
  login,
  manualClock,
  PASSWORD,
  seededUser,
  type SqlFault,
  type TestUser,
  type Tokens,
  uniqueEmail,
} from "./helpers.ts";

/** Short enough to keep the suite quick; the production default is 5 s. */
const TIMEOUT_MS = 400;

const db = getDb(inject("databaseUrl"));

afterEach(async () => {
  await clearSqlFault();
  vi.restoreAllMocks();
});

/** A client whose database requests go out as `user`, given up after TIMEOUT_MS. */
function clientAs(user: string, clock?: Clock): Call {
  return client({ env: { DATABASE_URL: databaseUrlAs(user), DATABASE_TIMEOUT_MS: String(TIMEOUT_MS) }, ...(clock ? { clock } : {}) });
}

function faultUser(): string {
  return `fault_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** Arms `fault` for a fresh database user and returns a client that meets it. */
async function failing(fault: Omit<SqlFault, "user">, clock?: Clock): Promise<Call> {
  const user = faultUser();
  await armSqlFault({ count: 1000, ...fault, user });
  return clientAs(user, clock);
}

let admin: TestUser;
let adminToken: string;

beforeAll(async () => {
  admin = await seededUser("admin");
  adminToken = (await login(admin)).access_token;
});

/** Every endpoint that needs the database, as a call a client makes. */
function databaseEndpoints(tokens: Tokens, user: TestUser): [string, (call: Call) => Promise<Response>][] {
  return [
    ["POST /auth/signup", (call) => call("/auth/signup", json("POST", { email: uniqueEmail(), password: PASSWORD }))],
    ["POST /auth/verify", (call) => call("/auth/verify", json("POST", { email: user.email, code: "123456", password: PASSWORD }))],
    ["POST /auth/verify/resend", (call) => call("/auth/verify/resend", json("POST", { email: uniqueEmail() }))],
    ["POST /auth/login", (call) => call("/auth/login", json("POST", { email: user.email, password: PASSWORD }))],
    ["POST /auth/refresh", (call) => call("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token }))],
    ["POST /auth/logout", (call) => call("/auth/logout", json("POST", { refresh_token: tokens.refresh_token }))],
    ["POST /auth/password/forgot", (call) => call("/auth/password/forgot", json("POST", { email: user.email }))],
    [
      "POST /auth/password/reset",
      (call) => call("/auth/password/reset", json("POST", { email: user.email, code: "123456", new_password: "a new passphrase" })),
    ],
    ["GET /users/me", (call) => call("/users/me", bearer(tokens.access_token))],
    ["GET /auth/sessions", (call) => call("/auth/sessions", bearer(tokens.access_token))],
    ["GET /users", (call) => call("/users", bearer(adminToken))],
    ["GET /users/{id}", (call) => call(`/users/${user.id}`, bearer(adminToken))],
    ["PATCH /users/{id}", (call) => call(`/users/${user.id}`, bearer(adminToken, json("PATCH", { first_name: "Faulty" })))],
    ["GET /events", (call) => call("/events", bearer(adminToken))],
    ["GET /health", (call) => call("/health")],
  ];
}

async function expectUnavailable(response: Response, started: number, bound: number): Promise<void> {
  await expectProblem(response, 503, "service_unavailable");
  expect(Number(response.headers.get("Retry-After"))).toBeGreaterThan(0);
  expect(Date.now() - started).toBeLessThan(bound);
}

describe("the database failing", () => {
  it.each([
    ["answering 503", { mode: "status", status: 503 }, 2_000],
    ["dropping the connection", { mode: "drop" }, 2_000],
    ["hanging past the timeout", { mode: "hang", ms: 5_000 }, TIMEOUT_MS + 2_000],
  ] as const)("%s: every endpoint that needs it answers 503 with Retry-After, in time", async (_, fault, bound) => {
    const user = await seededUser();
    const tokens = await login(user);
    const call = await failing(fault);
    vi.spyOn(console, "error").mockImplementation(() => {});
    for (const [name, send] of databaseEndpoints(tokens, user)) {
      const started = Date.now();
      const response = await send(call);
      expect(response.status, name).toBe(503);
      await expectUnavailable(response, started, bound);
    }
  });

  it("leaves nothing half-written: a signup that failed left no user and no mail, and works once the database is back", async () => {
    const email = uniqueEmail("atomic");
    const call = await failing({ mode: "drop" });
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await call("/auth/signup", json("POST", { email, password: PASSWORD }))).status).toBe(503);
    expect(await db.selectFrom("users").select("id").where("email", "=", email).execute()).toEqual([]);
    expect(await db.selectFrom("email_outbox").select("id").where("to_address", "=", email).execute()).toEqual([]);
    await clearSqlFault();
    expect((await api("/auth/signup", json("POST", { email, password: PASSWORD }))).status).toBe(201);
  });

  it("leaves a refresh token unspent when its rotation failed: the client can try again", async () => {
    const { refresh_token } = await login(await seededUser());
    const call = await failing({ mode: "fail-query" });
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await call("/auth/refresh", json("POST", { refresh_token }))).status).toBe(503);
    await clearSqlFault();
    expect((await api("/auth/refresh", json("POST", { refresh_token }))).status).toBe(200);
  });

  it("lets a rotation that landed after the Worker gave up count as spent: the retry past the grace ends the session", async () => {
    const tokens = await login(await seededUser());
    const clock = manualClock();
    // held 600 ms, then run: the Worker gives up at 400 ms and answers 503, the rotation commits after
    const call = await failing({ mode: "hang", ms: 600, count: 1 }, clock);
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    await expectProblem(await call("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token })), 503, "service_unavailable");
    await expect
      .poll(() =>
        db
          .selectFrom("refresh_tokens")
          .select("used_at")
          .where("session_id", "=", String(decodeJwt(tokens.access_token).sid))
          .where("used_at", "is not", null)
          .execute(),
      )
      .toHaveLength(1);
    // the client retries after Retry-After, beyond the 2 s grace (docs/SECURITY.md, "When dependencies fail")
    clock.advance(2.1);
    await expectProblem(await call("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token })), 401, "invalid_token");
    await expectProblem(await api("/users/me", bearer(tokens.access_token)), 401, "invalid_token");
  });

  it("keeps a code usable when its verification failed", async () => {
    const email = uniqueEmail("retry");
    await api("/auth/signup", json("POST", { email, password: PASSWORD }));
    const code = await latestCode(email);
    const call = await failing({ mode: "status", status: 502 });
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await call("/auth/verify", json("POST", { email, code, password: PASSWORD }))).status).toBe(503);
    expect(await db.selectFrom("users").select("status").where("email", "=", email).executeTakeFirst()).toEqual({ status: "unverified" });
    await clearSqlFault();
    expect((await api("/auth/verify", json("POST", { email, code, password: PASSWORD }))).status).toBe(200);
  });

  it("rolls a whole transaction back when one of its statements fails: a demotion changes nothing", async () => {
    const user = await seededUser("admin");
    const session = await login(user);
    // the batch is [lock the row, change it]: the second statement fails
    const call = await failing({ mode: "fail-query", query: 1 });
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await call(`/users/${user.id}`, bearer(adminToken, json("PATCH", { role: "user", first_name: "Changed" })))).status).toBe(503);
    expect(await db.selectFrom("users").select(["role", "first_name"]).where("id", "=", String(user.id)).executeTakeFirst()).toEqual({
      role: "admin",
      first_name: null,
    });
    // and the session it would have ended lives on
    expect((await api("/users", bearer(session.access_token))).status).toBe(200);
  });
});

/** Revocation stores that fail as a store outage would: every call rejects. */
function failingStores(which: "kv" | "cache" | "both", cache: RevocationEdge["cache"]): RevocationEdge {
  const down = () => Promise.reject(new Error("store unavailable"));
  return {
    kv: which === "cache" ? { get: async () => new Map<string, string | null>(), put: async () => {} } : { get: down, put: down },
    cache: which === "kv" ? cache : { match: down, put: down },
  };
}

describe("the edge's revocation stores failing", () => {
  it("logout still ends the session in Postgres, answers 204 and logs that the edge copy failed", async () => {
    const tokens = await login(await seededUser());
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void errors.push(String(line)));
    const call = client({ revocationEdge: () => failingStores("both", caches.default) });
    expect((await call("/auth/logout", json("POST", { refresh_token: tokens.refresh_token }))).status).toBe(204);
    expect(errors.some((line) => line.includes("revocation not copied to the edge"))).toBe(true);
    // Postgres decided: the session is over for every later refresh
    await expectProblem(await api("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token })), 401, "invalid_token");
  });

  it("refresh still rotates, and still ends a reused session, deciding from Postgres", async () => {
    const tokens = await login(await seededUser());
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const call = client({ revocationEdge: () => failingStores("both", caches.default) });
    const rotated = await call("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token }));
    expect(rotated.status).toBe(200);
    const successor = await rotated.json<Tokens>();
    const next = await call("/auth/refresh", json("POST", { refresh_token: successor.refresh_token }));
    expect(next.status).toBe(200);
    const live = await next.json<Tokens>();
    // the first token again, from another client: reuse, decided by Postgres with both stores down
    const thief = { "User-Agent": "Thief/2.0", "CF-Connecting-IP": "192.0.2.99" };
    await expectProblem(await call("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token }, thief)), 401, "invalid_token");
    await expectProblem(await call("/auth/refresh", json("POST", { refresh_token: live.refresh_token })), 401, "invalid_token");
  });

  it("refuses signed-in requests with 503 when it cannot tell whether the session ended (fails closed), and logs it", async () => {
    const tokens = await login(await seededUser());
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void errors.push(String(line)));
    for (const which of ["kv", "cache", "both"] as const) {
      const call = client({ revocationEdge: () => failingStores(which, caches.default) });
      await expectUnavailable(await call("/users/me", bearer(tokens.access_token)), Date.now(), 2_000);
    }
    expect(errors.some((line) => line.includes("revocation stores unavailable"))).toBe(true);
  });

  it("still refuses a revoked session when one store fails and the other knows it ended", async () => {
    const tokens = await login(await seededUser());
    expect((await api("/auth/logout", json("POST", { refresh_token: tokens.refresh_token }))).status).toBe(204);
    // KV down; this location's cache holds the revocation
    const call = client({ revocationEdge: () => failingStores("kv", caches.default) });
    await expectProblem(await call("/users/me", bearer(tokens.access_token)), 401, "invalid_token");
  });
});
