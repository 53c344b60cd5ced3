import { describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import type { TokenPair } from "../../src/schemas/tokens.ts";
import { api, armGate, bearer, clientAs, json, login, mailTo, PASSWORD, seededUser, uniqueEmail } from "./helpers.ts";

function roleOf(accessToken: string): string {
  return String(JSON.parse(atob(accessToken.split(".")[1] ?? "")).role);
}

// Meaningful on the PostgreSQL server (TEST_DATABASE_URL), where these requests really run at once on
// separate connections; on PGlite they are serialised and the same answers must still come out.
describe("requests racing each other", () => {
  it("ten refreshes of one token never yield two different live successors", async () => {
    const user = await seededUser();
    const { refresh_token } = await login(user);
    const responses = await Promise.all(Array.from({ length: 10 }, () => api("/auth/refresh", json("POST", { refresh_token }))));
    const statuses = responses.map((response) => response.status);
    expect(statuses.every((status) => status === 200 || status === 401)).toBe(true);
    const successors = new Set(
      await Promise.all(
        responses
          .filter((response) => response.status === 200)
          .map(async (response) => (await response.json<{ refresh_token: string }>()).refresh_token),
      ),
    );
    expect(successors.size).toBe(1);
    const [successor] = [...successors];
    // the one successor is live, exactly once
    const next = await api("/auth/refresh", json("POST", { refresh_token: successor }));
    expect(next.status).toBe(200);
  });

  it("ten signups of one email make exactly one user, and mail one code", async () => {
    const email = uniqueEmail();
    const responses = await Promise.all(Array.from({ length: 10 }, () => api("/auth/signup", json("POST", { email, password: PASSWORD }))));
    // an address nobody proved is anyone's to sign up again, with the same answer
    expect(responses.map((response) => response.status)).toEqual(Array<number>(10).fill(201));
    const rows = await getDb(inject("databaseUrl")).selectFrom("users").select("id").where("email", "=", email).execute();
    expect(rows).toHaveLength(1);
    expect(await mailTo(email)).toHaveLength(1);
  });

  it("a login and a demotion, in both orders, leave no token that still acts as an admin", async () => {
    const [target, boss] = await Promise.all([seededUser("admin"), seededUser("admin")]);
    const bossToken = (await login(boss)).access_token;
    // first order: a login that completes before the demotion
    const before = await login(target);
    // second order: a login whose password was checked before the demotion and whose session write waits
    // at a gate until the demotion has committed
    const gate = await armGate({ skip: 1 });
    const heldLogin = clientAs(gate.user)("/auth/login", json("POST", { email: target.email, password: target.password }));
    expect(await gate.reached()).toBe(true);
    expect((await api(`/users/${target.id}`, bearer(bossToken, json("PATCH", { role: "user" })))).status).toBe(200);
    await gate.release();
    const between = await (await heldLogin).json<TokenPair>();

    // the demotion ended the session it found ...
    expect((await api("/users", bearer(before.access_token))).status).toBe(401);
    expect((await api("/auth/refresh", json("POST", { refresh_token: before.refresh_token }))).status).toBe(401);
    // ... and the login it overtook wrote its session under the user's row lock, seeing the new role
    expect(roleOf(between.access_token)).toBe("user");
    expect((await api("/users", bearer(between.access_token))).status).toBe(403);
    const refreshed = await api("/auth/refresh", json("POST", { refresh_token: between.refresh_token }));
    expect(roleOf((await refreshed.json<TokenPair>()).access_token)).toBe("user");
  });

  it("a refresh racing a logout keeps nothing of the session alive", async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => seededUser("user")));
    await Promise.all(
      users.map(async (user) => {
        const { refresh_token } = await login(user);
        const [refreshed, loggedOut] = await Promise.all([
          api("/auth/refresh", json("POST", { refresh_token })),
          api("/auth/logout", json("POST", { refresh_token })),
        ]);
        expect(loggedOut.status).toBe(204);
        if (refreshed.status !== 200) return expect(refreshed.status).toBe(401);
        const successor = await refreshed.json<TokenPair>();
        expect((await api("/auth/refresh", json("POST", { refresh_token: successor.refresh_token }))).status).toBe(401);
        expect((await api("/users/me", bearer(successor.access_token))).status).toBe(401);
      }),
    );
  });
});
