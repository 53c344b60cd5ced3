// The endpoints the bench drives, each request built like a client's: its own client address (the
// per-address limits meet only the requests aimed at them), tokens spread over many users, and each
// connection following its own refresh chain.
import { z } from "zod";
import type { Endpoint } from "./load.ts";
import { type Account, clientAddress, type Fixtures, inBatches, PAGE_SIZE, PASSWORD, signIn } from "./prepare.ts";
import type { Stack } from "./stack.ts";

function rotating<T>(items: T[]): () => T {
  let index = 0;
  return () => {
    const item = items[index % items.length];
    index += 1;
    if (item === undefined) throw new Error("nothing to rotate through");
    return item;
  };
}

/** Each item once: an imported account's first login is the one that still checks its bcrypt hash. */
function once<T>(items: T[], what: string): () => T {
  let index = 0;
  return () => {
    const item = items[index];
    index += 1;
    if (item === undefined) throw new Error(`out of ${what}: prepare more (IMPORTED_ACCOUNTS in bench/http/prepare.ts)`);
    return item;
  };
}

const JSON_BODY = { "Content-Type": "application/json" };
export const LOGIN_AT_20 = "POST /auth/login (20 connections, for the goal)";
const RotatedTokens = z.object({ refresh_token: z.string() });

export async function endpointsFor(stack: Stack, fixtures: Fixtures): Promise<Endpoint[]> {
  const { api, floor } = stack;
  const account = rotating(fixtures.accounts);
  const importedAccount = once(fixtures.imported, "imported accounts");
  const admin = { Authorization: `Bearer ${fixtures.admin.accessToken}` };
  const { deepPage } = fixtures;
  const get = (name: string, path: string, headers: () => Record<string, string> = () => ({})): Endpoint => ({
    name,
    method: "GET",
    target: api,
    usesDatabase: true,
    expected: 200,
    next: () => ({ path, headers: { "CF-Connecting-IP": clientAddress(), ...headers() } }),
  });
  // A login is ~75–370 ms of CPU on one thread (370 while imported bcrypt hashes remain: every check then runs
  // one bcrypt and one PBKDF2): 20 in flight would queue each for seconds, past a 5 s run, so the table's
  // login runs at 4 connections. For the goal at 20 connections a run of its own: 15 s long (answers within
  // it) with a 30 s timeout per request; its errors are reported with the goals, not failed (see main.ts).
  const login = (name: string, email: () => string, options: Partial<Endpoint> = { maxConnections: 4 }): Endpoint => ({
    name,
    method: "POST",
    target: api,
    usesDatabase: true,
    expected: 200,
    ...options,
    next: () => ({
      path: "/auth/login",
      headers: { ...JSON_BODY, "CF-Connecting-IP": clientAddress() },
      body: JSON.stringify({ email: email(), password: PASSWORD }),
    }),
  });
  // Refresh chains: sessions of their own, each followed by one connection at a time, from a client
  // address of its own (as a real client's stays put, so a replay of a token whose answer was cut off at
  // the end of a run is the same client's, within the grace window).
  // A connection hands its chain on after CHAIN_TURN requests, to stay within the per-address limit. A
  // chain whose last request was cut off when a run ended is given up: the client never saw its token.
  let chains = await inBatches(fixtures.accounts.length, 4, async (index) => ({
    token: (await signIn(api.url, fixtures.accounts[index]?.email ?? "")).refreshToken,
    address: clientAddress(),
    turn: 0,
    pending: false,
  }));
  const CHAIN_TURN = 20;
  let claimed = new WeakMap<object, (typeof chains)[number]>();
  let nextChain = 0;
  const chainOf = (connection: object) => {
    let chain = claimed.get(connection);
    if (!chain || chain.turn >= CHAIN_TURN) {
      chain = chains[nextChain % chains.length];
      nextChain += 1;
      if (!chain) throw new Error("no refresh chains");
      chain.turn = 0;
      claimed.set(connection, chain);
    }
    return chain;
  };

  return [
    {
      name: "floor Worker",
      method: "GET",
      target: floor,
      usesDatabase: false,
      expected: 200,
      next: () => ({ path: "/", headers: {} }),
    },
    get("GET /health/live", "/health/live"),
    get("GET /health", "/health"),
    get("GET /users/me", "/users/me", () => ({ Authorization: `Bearer ${account().accessToken}` })),
    {
      name: "POST /auth/refresh",
      method: "POST",
      target: api,
      usesDatabase: true,
      expected: 200,
      reset: () => {
        chains = chains.filter((chain) => !chain.pending);
        claimed = new WeakMap();
      },
      next: (connection) => {
        const chain = chainOf(connection);
        chain.turn += 1;
        chain.pending = true;
        return {
          path: "/auth/refresh",
          headers: { ...JSON_BODY, "CF-Connecting-IP": chain.address, "User-Agent": "coffee-bench" },
          body: JSON.stringify({ refresh_token: chain.token }),
        };
      },
      answered: (status, body, connection) => {
        const chain = claimed.get(connection);
        if (!chain) return;
        chain.pending = false;
        if (status === 200) chain.token = RotatedTokens.parse(JSON.parse(body)).refresh_token;
      },
    },
    login("POST /auth/login", () => account().email),
    login(LOGIN_AT_20, () => account().email, { minConnections: 20, minSeconds: 15, timeoutSeconds: 30, failsBench: false }),
    // written only now, after the other logins (see prepare.ts): from here on every login's check runs one
    // bcrypt and one PBKDF2 (see verifyPassword); a first login also rehashes to the current format after it
    login("POST /auth/login (imported bcrypt user)", importedAccount, { maxConnections: 4, setup: fixtures.importAccounts }),
    get("GET /users (page 1)", `/users?limit=${PAGE_SIZE}`, () => admin),
    get(`GET /users (page ${deepPage.page.toLocaleString("en")})`, `/users?limit=${PAGE_SIZE}&cursor=${deepPage.cursor}`, () => admin),
    get("GET /users (email prefix)", `/users?limit=${PAGE_SIZE}&email=${encodeURIComponent(deepPage.emailPrefix)}`, () => admin),
    {
      name: "PATCH /users/{id}",
      method: "PATCH",
      target: api,
      usesDatabase: true,
      expected: 200,
      next: () => {
        const user: Account = account();
        return {
          path: `/users/${user.id}`,
          headers: { ...JSON_BODY, Authorization: `Bearer ${user.accessToken}`, "CF-Connecting-IP": clientAddress() },
          body: JSON.stringify({ first_name: `Bench ${Math.floor(Math.random() * 1000)}` }),
        };
      },
    },
  ];
}
