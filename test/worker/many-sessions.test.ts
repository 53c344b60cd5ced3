// Ending every session of a user with many of them: one edge entry per user, whatever the number of
// sessions, so it stays within a Worker's subrequest limits; and every access token of theirs stops
// working, while a session started afterwards works. And the bearer check reads KV once per request.
import { describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import { productionEdge, type RevocationEdge } from "../../src/edge/revocations.ts";
import { api, bearer, client, json, login, seededUser } from "./helpers.ts";

const db = getDb(inject("databaseUrl"));
const SESSIONS = 1000;

/** The Worker's edge stores, counting every write a request makes to them. */
function countingEdge(): { edge: (env: Env) => RevocationEdge; writes: () => number; reads: () => { kv: number; cache: number } } {
  let writes = 0;
  const reads = { kv: 0, cache: 0 };
  return {
    edge: (bindings) => {
      const real = productionEdge(bindings);
      return {
        kv: {
          get: (keys, type) => {
            reads.kv++;
            return real.kv.get(keys, type);
          },
          put: (key, value, options) => {
            writes++;
            return real.kv.put(key, value, options);
          },
        },
        cache: {
          match: (request) => {
            reads.cache++;
            return real.cache.match(request);
          },
          put: (request, response) => {
            writes++;
            return real.cache.put(request, response);
          },
        },
      };
    },
    writes: () => writes,
    reads: () => ({ ...reads }),
  };
}

describe("ending every session of a user with a thousand of them", () => {
  it("writes one entry to each edge store, and no access token of theirs works after", async () => {
    const user = await seededUser();
    const [first, second] = [await login(user), await login(user)];
    const now = new Date();
    const later = new Date(now.getTime() + 24 * 60 * 60 * 1000);
    const sessions = Array.from({ length: SESSIONS }, () => crypto.randomUUID());
    await db
      .insertInto("sessions")
      .values(
        sessions.map((id) => ({
          id,
          user_id: String(user.id),
          created_at: now,
          generation: 0,
          auth_time: now,
          user_agent: "seeded",
          client_address: null,
        })),
      )
      .execute();
    await db
      .insertInto("refresh_tokens")
      .values(
        sessions.map((id) => ({
          token_hash: crypto.getRandomValues(new Uint8Array(32)),
          session_id: id,
          user_id: String(user.id),
          expires_at: later,
          created_at: now,
        })),
      )
      .execute();
    const counting = countingEdge();
    const call = client({ revocationEdge: counting.edge });
    expect((await call("/auth/logout/all", bearer(first.access_token, { method: "POST" }))).status).toBe(204);
    expect(counting.writes()).toBe(2);
    for (const tokens of [first, second]) {
      expect((await api("/users/me", bearer(tokens.access_token))).status).toBe(401);
      expect((await api("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token }))).status).toBe(401);
    }
    expect(await db.selectFrom("refresh_tokens").select("session_id").where("user_id", "=", String(user.id)).execute()).toEqual([]);
    // a session started afterwards is of the next generation, and works
    const next = await login(user);
    expect((await api("/users/me", bearer(next.access_token))).status).toBe(200);
  });
});

describe("the bearer check's reads of the edge", () => {
  it("reads both entries from KV in one bulk read, and each from this location's cache", async () => {
    const tokens = await login(await seededUser());
    const counting = countingEdge();
    const call = client({ revocationEdge: counting.edge });
    expect((await call("/users/me", bearer(tokens.access_token))).status).toBe(200);
    expect(counting.reads()).toEqual({ kv: 1, cache: 2 });
    // and either copy alone still ends the session: KV's (logout wrote both; see faults.test.ts for the cache's)
    expect((await call("/auth/logout", json("POST", { refresh_token: tokens.refresh_token }))).status).toBe(204);
    expect((await call("/users/me", bearer(tokens.access_token))).status).toBe(401);
  });
});
