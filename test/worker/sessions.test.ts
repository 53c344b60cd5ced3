import { hashSync } from "bcryptjs";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index.ts";
import { describe, expect, inject, it, vi } from "vitest";
import { getDb } from "../../src/db/client.ts";
import {
  api,
  armGate,
  BASE_URL,
  bearer,
  type Call,
  client,
  clientAs,
  countRoundTrips,
  expectProblem,
  json,
  login,
  manualClock,
  PASSWORD,
  seededUser,
  uniqueEmail,
} from "./helpers.ts";

const me = (token: string, call = api) => call("/users/me", bearer(token));
const refresh = (token: string, call = api, headers: Record<string, string> = {}) =>
  call("/auth/refresh", json("POST", { refresh_token: token }, headers));
const logout = (token: string, call = api) => call("/auth/logout", json("POST", { refresh_token: token }));

function decodePart(token: string, index: number): Record<string, unknown> {
  const part = token.split(".")[index] ?? "";
  return JSON.parse(atob(part.replaceAll("-", "+").replaceAll("_", "/")));
}

const storedHashOf = (email: string) =>
  getDb(inject("databaseUrl")).selectFrom("users").select("password_hash").where("email", "=", email).executeTakeFirst();

describe("POST /auth/login", () => {
  it("answers a token pair and a device token in two round trips", async () => {
    const user = await seededUser();
    const { result: response, roundTrips } = await countRoundTrips((call) =>
      call("/auth/login", json("POST", { email: user.email.toUpperCase(), password: PASSWORD })),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      token_type: "bearer",
      expires_in: 900,
      device_token: expect.stringMatching(/^[\w-]{43}$/),
    });
    expect(roundTrips).toBe(2);
  });

  it("issues an access token with the documented claims, signed by a published key", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    const header = decodePart(access_token, 0);
    const claims = decodePart(access_token, 1);
    expect(header).toMatchObject({ alg: "EdDSA", typ: "at+jwt", kid: expect.any(String) });
    expect(claims).toEqual({
      iss: "coffee-shop-api",
      aud: "coffee-shop",
      sub: String(user.id),
      iat: expect.any(Number),
      exp: expect.any(Number),
      jti: expect.any(String),
      sid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      gen: 0,
      role: "user",
      scope: "access_token",
      amr: ["pwd"],
      auth_time: claims.iat,
    });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(900);
    const jwks = await (await api("/.well-known/jwks.json")).json<{ keys: Record<string, unknown>[] }>();
    expect(jwks.keys.map((key) => key.kid)).toContain(header.kid);
    for (const key of jwks.keys) expect(key).not.toHaveProperty("d");
  });

  it("gives the same answer for an unknown email and a wrong password", async () => {
    const user = await seededUser();
    const wrong = await expectProblem(
      await api("/auth/login", json("POST", { email: user.email, password: "wrong password" })),
      401,
      "invalid_credentials",
    );
    const unknown = await expectProblem(
      await api("/auth/login", json("POST", { email: uniqueEmail(), password: PASSWORD })),
      401,
      "invalid_credentials",
    );
    expect({ ...wrong, request_id: "" }).toEqual({ ...unknown, request_id: "" });
  });

  it("is 403 for the right password of an unverified account, 401 for a wrong one", async () => {
    const email = uniqueEmail();
    await api("/auth/signup", json("POST", { email, password: PASSWORD }));
    await expectProblem(await api("/auth/login", json("POST", { email, password: PASSWORD })), 403, "email_not_verified");
    await expectProblem(await api("/auth/login", json("POST", { email, password: "not the password" })), 401, "invalid_credentials");
  });

  it("accepts a bcrypt hash from the old service and upgrades it", async () => {
    const user = await seededUser("user");
    const db = getDb(inject("databaseUrl"));
    // as passlib stored it in the old service ($2b$, cost 4 to keep the test fast)
    await db
      .updateTable("users")
      .set({ password_hash: hashSync(PASSWORD, 4) })
      .where("id", "=", String(user.id))
      .execute();
    await expectProblem(
      await api("/auth/login", json("POST", { email: user.email, password: "wrong password" })),
      401,
      "invalid_credentials",
    );
    const response = await api("/auth/login", json("POST", { email: user.email, password: PASSWORD }));
    expect(response.status).toBe(200);
    const stored = await storedHashOf(user.email);
    expect(stored?.password_hash).toMatch(/^\$pbkdf2-sha256\$/);
    expect((await api("/auth/login", json("POST", { email: user.email, password: PASSWORD }))).status).toBe(200);
  });
});

describe("the first login of an old hash", () => {
  it("costs its two round trips before the answer and one after it, for the upgrade; the next login two", async () => {
    const user = await seededUser("user");
    const db = getDb(inject("databaseUrl"));
    await db
      .updateTable("users")
      .set({ password_hash: hashSync(PASSWORD, 4) })
      .where("id", "=", String(user.id))
      .execute();
    const logIn = (call: Call, device_token?: string) =>
      call("/auth/login", json("POST", { email: user.email, password: PASSWORD, device_token }));
    const first = await countRoundTrips((call) => logIn(call));
    expect(first.result.status).toBe(200);
    expect(first.roundTrips).toBe(3);
    // from the same device (a new one would add its notice, marked sent after the answer)
    const { device_token } = await first.result.json<{ device_token: string }>();
    expect((await countRoundTrips((call) => logIn(call, device_token))).roundTrips).toBe(2);
  });

  it("upgrades only after its session is written: a login held before that write still answers 200", async () => {
    const user = await seededUser("user");
    const old = hashSync(PASSWORD, 4);
    await getDb(inject("databaseUrl")).updateTable("users").set({ password_hash: old }).where("id", "=", String(user.id)).execute();
    // the login's first statement reads the hash; the gate holds its second, which writes the session
    const gate = await armGate({ skip: 1 });
    const answer = clientAs(gate.user)("/auth/login", json("POST", { email: user.email, password: PASSWORD }));
    expect(await gate.reached()).toBe(true);
    // time for an upgrade started with the answer to hash and land, were one started before the write
    for (let waited = 0; waited < 1_500 && (await storedHashOf(user.email))?.password_hash === old; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await storedHashOf(user.email))?.password_hash).toBe(old);
    await gate.release();
    expect((await answer).status).toBe(200);
  });

  it("answers before it upgrades the hash, so it takes no longer than any other login (the upgrade follows, once)", async () => {
    const user = await seededUser("user");
    const db = getDb(inject("databaseUrl"));
    const old = hashSync(PASSWORD, 4);
    await db.updateTable("users").set({ password_hash: old }).where("id", "=", String(user.id)).execute();
    // hold every key derivation after the check's own six (PBKDF2 600,000 as 6 calls): the upgrade's
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const deriveBits = crypto.subtle.deriveBits.bind(crypto.subtle);
    let calls = 0;
    const spy = vi.spyOn(crypto.subtle, "deriveBits").mockImplementation(async (...args) => {
      calls += 1;
      if (calls > 6) await gate;
      return deriveBits(...args);
    });
    try {
      const ctx = createExecutionContext();
      const request = new Request(`${BASE_URL}/auth/login`, json("POST", { email: user.email, password: PASSWORD }));
      const answered = await Promise.race([
        worker.fetch(request, env, ctx),
        new Promise<"held">((resolve) => setTimeout(() => resolve("held"), 3_000)),
      ]);
      expect(answered === "held" ? answered : answered.status).toBe(200);
      expect((await storedHashOf(user.email))?.password_hash).toBe(old);
      openGate();
      await waitOnExecutionContext(ctx);
    } finally {
      spy.mockRestore();
    }
    expect((await storedHashOf(user.email))?.password_hash).toMatch(/^\$pbkdf2-sha256\$/);
  });
});

describe("bearer tokens", () => {
  it("let a verified user read /users/me in one round trip", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    const { result: response, roundTrips } = await countRoundTrips((call) => me(access_token, call));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: user.id, email: user.email, status: "verified" });
    expect(roundTrips).toBe(1);
  });

  it("refuses a missing or malformed Authorization header with 401 and a Bearer challenge", async () => {
    const headerSets: Record<string, string>[] = [
      {},
      { Authorization: "Basic abc" },
      { Authorization: "Bearer" },
      { Authorization: "Bearer a b" },
    ];
    for (const headers of headerSets) {
      const response = await api("/users/me", { headers });
      await expectProblem(response, 401, "unauthorized");
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm=/);
    }
  });

  it("refuses a forged, tampered, expired, or refresh token, costing no SQL", async () => {
    const user = await seededUser();
    const { access_token, refresh_token } = await login(user);
    const [header, payload, signature] = access_token.split(".");
    const elevated = btoa(JSON.stringify({ ...decodePart(access_token, 1), role: "admin" })).replace(/=+$/, "");
    const unsigned = `${btoa(JSON.stringify({ alg: "none", typ: "at+jwt" })).replace(/=+$/, "")}.${payload}.`;
    const clock = manualClock();
    clock.advance(15 * 60 + 1);
    const cases: [string, string, { clock?: typeof clock }][] = [
      ["tampered claims", `${header}.${elevated}.${signature}`, {}],
      ["alg none", unsigned, {}],
      ["garbage", "not.a.jwt", {}],
      ["refresh token", refresh_token, {}],
      ["expired", access_token, { clock }],
    ];
    for (const [label, token, options] of cases) {
      const { result: response, roundTrips } = await countRoundTrips((call) => call("/users/me", bearer(token)), options);
      const problem = await expectProblem(response, 401, "invalid_token");
      expect(response.headers.get("WWW-Authenticate"), label).toContain('error="invalid_token"');
      expect(problem.detail, label).not.toMatch(/jose|JWS|signature verification/i);
      expect(roundTrips, label).toBe(0);
    }
  });

  it("refuses a token signed by a key the API does not publish", async () => {
    const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    if (!("privateKey" in pair)) throw new Error("expected a key pair");
    const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    const stranger = client({ env: { JWT_PRIVATE_KEYS: JSON.stringify([{ ...jwk, kid: "stranger" }]) } });
    const user = await seededUser();
    const { access_token } = await login(user, stranger);
    await expectProblem(await me(access_token), 401, "invalid_token");
  });

  it("is not accepted as a refresh token", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    await expectProblem(await refresh(access_token), 401, "invalid_token");
  });
});

describe("POST /auth/refresh", () => {
  it("rotates: a new pair in one round trip, and the old refresh token is spent (RFC 9700 §4.14.2)", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const first = await login(user, call);
    const { result: response, roundTrips } = await countRoundTrips((counted) => refresh(first.refresh_token, counted), {
      clock,
    });
    expect(response.status).toBe(200);
    const second = await response.json<{ access_token: string; refresh_token: string }>();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(roundTrips).toBe(1);
    expect((await me(second.access_token, call)).status).toBe(200);
    clock.advance(3);
    // outside the grace window (2 s) a spent token is a theft signal: the whole session ends
    await expectProblem(await refresh(first.refresh_token, call), 401, "invalid_token");
    await expectProblem(await refresh(second.refresh_token, call), 401, "invalid_token");
    await expectProblem(await me(second.access_token, call), 401, "invalid_token");
  });

  it("returns the same successor to the same client's replay within the grace window, and records it (RFC 9700 §4.14.2)", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { refresh_token } = await login(user, call);
    const tab = { "User-Agent": "Browser/1.0", "CF-Connecting-IP": "2001:db8:5:6::1" };
    const a = await (await refresh(refresh_token, call, tab)).json<{ refresh_token: string }>();
    clock.advance(1);
    // another tab of the same browser: same user agent, same /64
    const replay = await refresh(refresh_token, call, { ...tab, "CF-Connecting-IP": "2001:db8:5:6::2" });
    expect(replay.status).toBe(200);
    expect((await replay.json<{ refresh_token: string }>()).refresh_token).toBe(a.refresh_token);
    // a security event all the same: recorded in the audit trail
    const replays = await getDb(inject("databaseUrl"))
      .selectFrom("auth_events")
      .select("details")
      .where("type", "=", "refresh_replayed")
      .where("user_id", "=", String(user.id))
      .execute();
    expect(replays).toHaveLength(1);
    // and the successor still works once
    expect((await refresh(a.refresh_token, call, tab)).status).toBe(200);
  });

  it.each([
    ["another user agent", { "User-Agent": "Thief/2.0", "CF-Connecting-IP": "192.0.2.10" }],
    ["another network", { "User-Agent": "Browser/1.0", "CF-Connecting-IP": "192.0.2.77" }],
  ])("treats a replay from %s within the grace window as reuse, ending the session (RFC 9700 §4.14.2)", async (_, thief) => {
    const user = await seededUser();
    const { refresh_token } = await login(user);
    const victim = { "User-Agent": "Browser/1.0", "CF-Connecting-IP": "192.0.2.10" };
    const rotated = await (await refresh(refresh_token, api, victim)).json<{ access_token: string; refresh_token: string }>();
    await expectProblem(await refresh(refresh_token, api, thief), 401, "invalid_token");
    await expectProblem(await refresh(rotated.refresh_token, api, victim), 401, "invalid_token");
    await expectProblem(await me(rotated.access_token), 401, "invalid_token");
  });

  it("treats a replay of an older token as reuse even within the grace window (RFC 9700 §4.14.2)", async () => {
    const user = await seededUser();
    const t1 = (await login(user)).refresh_token;
    const t2 = (await (await refresh(t1)).json<{ refresh_token: string }>()).refresh_token;
    const t3 = (await (await refresh(t2)).json<{ refresh_token: string }>()).refresh_token;
    await expectProblem(await refresh(t1), 401, "invalid_token");
    await expectProblem(await refresh(t3), 401, "invalid_token");
  });

  it("refuses unknown, expired and malformed tokens", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { refresh_token } = await login(user, call);
    await expectProblem(await refresh("made-up-token", call), 401, "invalid_token");
    clock.advance(30 * 24 * 60 * 60 + 1);
    await expectProblem(await refresh(refresh_token, call), 401, "invalid_token");
    await expectProblem(await api("/auth/refresh", json("POST", {})), 422, "validation_failed");
    await expectProblem(await api("/auth/refresh", json("POST", { refresh_token: "" })), 422, "validation_failed");
  });
});

describe("POST /auth/logout", () => {
  it("ends the session in one round trip: refresh and access tokens stop working", async () => {
    const user = await seededUser();
    const tokens = await login(user);
    const other = await login(user);
    const { result: response, roundTrips } = await countRoundTrips((call) => logout(tokens.refresh_token, call));
    expect(response.status).toBe(204);
    expect(roundTrips).toBe(1);
    await expectProblem(await refresh(tokens.refresh_token), 401, "invalid_token");
    await expectProblem(await me(tokens.access_token), 401, "invalid_token");
    await expectProblem(await logout(tokens.refresh_token), 401, "invalid_token");
    // another session of the same user is untouched
    expect((await me(other.access_token)).status).toBe(200);
  });

  it("refuses the session's access tokens at once here, even while KV still answers from its cache", async () => {
    const user = await seededUser();
    const tokens = await login(user);
    expect((await logout(tokens.refresh_token)).status).toBe(204);
    // what a location sees while KV still serves the miss it cached before the logout
    const sessionId = String(decodePart(tokens.access_token, 1).sid);
    await env.REVOCATIONS.delete(`session:${sessionId}`);
    await expectProblem(await me(tokens.access_token), 401, "invalid_token");
  });
});
