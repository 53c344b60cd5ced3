// A refresh racing a revocation, forced in both orders on the PostgreSQL server: an outside transaction
// holds the refresh token's row at a gate, so the rotation waits on it while the revocation arrives; the
// gate opens and whichever order the database then takes, no token of the revoked session works after,
// not even once the blacklist entry is purged. (PGlite runs one statement at a time: nothing can race there.)
import { neon } from "@neondatabase/serverless";
import { sql } from "kysely";
import { describe, expect, inject, it } from "vitest";
import { refreshTokenHash } from "../../src/auth/tokens.ts";
import { getDb } from "../../src/db/client.ts";
import type { TokenPair } from "../../src/schemas/tokens.ts";
import { api, armGate, bearer, databaseUrlAs, json, latestCode, login, seededUser, type TestUser } from "./helpers.ts";

const db = getDb(inject("databaseUrl"));

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A held transaction, and how many statements wait behind it (directly, or behind one that waits for it). */
interface HeldRow {
  waitingBehind(): Promise<number>;
  release(): Promise<void>;
  done: Promise<unknown>;
}

/**
 * Holds the refresh token's row (FOR SHARE) in an outside transaction, stopped at a gate, until `release`:
 * a rotation of the token (FOR UPDATE) waits on it, and so does anything that deletes it.
 */
async function holdTokenRow(refreshToken: string): Promise<HeldRow> {
  const gate = await armGate({ beforeStatement: 1 });
  const lock = `select token_hash from refresh_tokens where token_hash = '\\x${hex(await refreshTokenHash(refreshToken))}' for share`;
  const outside = neon(databaseUrlAs(gate.user));
  const done = outside.transaction([outside.query(lock), outside.query("select 1")]);
  expect(await gate.reached()).toBe(true);
  const waitingBehind = async () => {
    const { rows } = await sql<{ waiting: string }>`
      with recursive holder as (select pid from pg_stat_activity where query = ${lock}),
      behind(pid) as (
        select a.pid from pg_stat_activity a, holder where holder.pid = any(pg_blocking_pids(a.pid))
        union select a.pid from pg_stat_activity a join behind b on b.pid = any(pg_blocking_pids(a.pid)))
      select count(*)::text as waiting from behind`.execute(db);
    return Number(rows[0]?.waiting ?? 0);
  };
  return { waitingBehind, release: gate.release, done };
}

type Revocation = (user: TestUser, tokens: TokenPair) => Promise<Response>;

async function adminToken(): Promise<string> {
  return (await login(await seededUser("admin"))).access_token;
}

const REVOCATIONS: [string, Revocation][] = [
  ["logout", (_, tokens) => api("/auth/logout", json("POST", { refresh_token: tokens.refresh_token }))],
  ["logout everywhere", (_, tokens) => api("/auth/logout/all", bearer(tokens.access_token, { method: "POST" }))],
  [
    "password change",
    (user, tokens) =>
      api(
        "/auth/password/change",
        bearer(tokens.access_token, json("POST", { current_password: user.password, new_password: "another long passphrase" })),
      ),
  ],
  [
    "password reset",
    async (user) => {
      await api("/auth/password/forgot", json("POST", { email: user.email }));
      return api(
        "/auth/password/reset",
        json("POST", { email: user.email, code: await latestCode(user.email), new_password: "another long passphrase" }),
      );
    },
  ],
  ["disabling", async (user) => api(`/users/${user.id}`, bearer(await adminToken(), json("PATCH", { status: "disabled" })))],
  ["a role change", async (user) => api(`/users/${user.id}`, bearer(await adminToken(), json("PATCH", { role: "admin" })))],
  ["deletion", async (user) => api(`/users/${user.id}`, bearer(await adminToken(), { method: "DELETE" }))],
];

/** No refresh or access token of the session works, before and after its blacklist entry is purged. */
async function expectSessionDead(tokens: TokenPair[], sessionId: string): Promise<void> {
  for (const pair of tokens) {
    expect((await api("/auth/refresh", json("POST", { refresh_token: pair.refresh_token }))).status).toBe(401);
    expect((await api("/users/me", bearer(pair.access_token))).status).toBe(401);
  }
  // what the cron does once the entry's time is up
  await db.deleteFrom("revoked_tokens").where("token_id", "=", `session:${sessionId}`).execute();
  for (const pair of tokens) expect((await api("/auth/refresh", json("POST", { refresh_token: pair.refresh_token }))).status).toBe(401);
}

function sessionOf(accessToken: string): string {
  return String(JSON.parse(atob(accessToken.split(".")[1] ?? "")).sid);
}

describe.skipIf(!inject("postgresServer"))("a refresh racing a revocation (forced on the PostgreSQL server)", () => {
  for (const [name, revoke] of REVOCATIONS) {
    it(`${name}: the rotation first, then the revocation, leaves no live successor`, async () => {
      const user = await seededUser();
      const tokens = await login(user);
      const held = await holdTokenRow(tokens.refresh_token);
      const rotation = api("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token }));
      await expect.poll(held.waitingBehind).toBe(1);
      const revocation = revoke(user, tokens);
      await expect.poll(held.waitingBehind).toBe(2);
      await held.release();
      await held.done;
      const [rotated, revoked] = await Promise.all([rotation, revocation]);
      expect(revoked.status).toBeLessThan(300);
      // the rotation went first: it answered a successor, which the revocation then ended
      expect(rotated.status).toBe(200);
      const successor = await rotated.json<TokenPair>();
      await expectSessionDead([tokens, successor], sessionOf(tokens.access_token));
    });
  }

  it("logout: the revocation first, then the rotation, which finds nothing to rotate", async () => {
    const user = await seededUser();
    const tokens = await login(user);
    const held = await holdTokenRow(tokens.refresh_token);
    const revocation = api("/auth/logout", json("POST", { refresh_token: tokens.refresh_token }));
    await expect.poll(held.waitingBehind).toBe(1);
    const rotation = api("/auth/refresh", json("POST", { refresh_token: tokens.refresh_token }));
    await expect.poll(held.waitingBehind).toBe(2);
    await held.release();
    await held.done;
    const [revoked, rotated] = await Promise.all([revocation, rotation]);
    expect(revoked.status).toBe(204);
    expect(rotated.status).toBe(401);
    await expectSessionDead([tokens], sessionOf(tokens.access_token));
  });
});
