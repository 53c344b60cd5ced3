// "Where am I logged in", ending sessions, and an admin's view of them.
import type { SessionView } from "../../src/schemas/sessions.ts";
import { describe, expect, it } from "vitest";
import {
  api,
  bearer,
  type Call,
  client,
  countRoundTrips,
  expectProblem,
  json,
  login,
  manualClock,
  seededUser,
  type TestUser,
  type Tokens,
} from "./helpers.ts";

const sessionsOf = (token: string, call: Call = api) => call("/auth/sessions", bearer(token));
const me = (token: string, call: Call = api) => call("/users/me", bearer(token));
const refresh = (token: string, call: Call = api, headers: Record<string, string> = {}) =>
  call("/auth/refresh", json("POST", { refresh_token: token }, headers));

function sessionIdOf(accessToken: string): string {
  return String(JSON.parse(atob(accessToken.split(".")[1] ?? "")).sid);
}

async function loginFrom(user: TestUser, device: Record<string, string>, call: Call = api): Promise<Tokens> {
  const response = await call("/auth/login", json("POST", { email: user.email, password: user.password }, device));
  expect(response.status).toBe(200);
  return response.json();
}

const PHONE = { "User-Agent": "CoffeeApp/3.1 (iPhone)", "CF-Connecting-IP": "203.0.113.21" };
const LAPTOP = { "User-Agent": "Mozilla/5.0 (Macintosh)", "CF-Connecting-IP": "2001:db8:7::10" };

describe("GET /auth/sessions", () => {
  it("lists the caller's live sessions, newest first, with where they came from and which is current, in one round trip", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const phone = await loginFrom(user, PHONE, call);
    clock.advance(60);
    const laptop = await loginFrom(user, LAPTOP, call);
    clock.advance(60);
    expect((await refresh(phone.refresh_token, call, PHONE)).status).toBe(200);
    const { result: response, roundTrips } = await countRoundTrips((counted) => sessionsOf(laptop.access_token, counted), { clock });
    expect(response.status).toBe(200);
    expect(roundTrips).toBe(1);
    const sessions = await response.json<SessionView[]>();
    expect(sessions).toEqual([
      {
        id: sessionIdOf(laptop.access_token),
        created_at: expect.any(String),
        last_refreshed_at: null,
        user_agent: LAPTOP["User-Agent"],
        client_address: LAPTOP["CF-Connecting-IP"],
        current: true,
        // signed in without the phone's device token: a new device then
        device: { id: expect.any(String), known: false, last_sign_in_at: expect.any(String) },
      },
      {
        id: sessionIdOf(phone.access_token),
        created_at: expect.any(String),
        last_refreshed_at: clock().toISOString(),
        user_agent: PHONE["User-Agent"],
        client_address: PHONE["CF-Connecting-IP"],
        current: false,
        device: { id: expect.any(String), known: false, last_sign_in_at: expect.any(String) },
      },
    ]);
  });

  it("cuts a long user agent to 256 characters", async () => {
    const user = await seededUser();
    const { access_token } = await loginFrom(user, { "User-Agent": "x".repeat(5000) });
    const [session] = await (await sessionsOf(access_token)).json<SessionView[]>();
    expect(session?.user_agent).toHaveLength(256);
  });
});

describe("DELETE /auth/sessions/{id}", () => {
  it("lets the owner end a stolen session: its tokens stop working at once, in one round trip", async () => {
    const user = await seededUser();
    const owner = await loginFrom(user, LAPTOP);
    const thief = await loginFrom(user, PHONE);
    const { result: response, roundTrips } = await countRoundTrips((call) =>
      call(`/auth/sessions/${sessionIdOf(thief.access_token)}`, bearer(owner.access_token, { method: "DELETE" })),
    );
    expect(response.status).toBe(204);
    expect(roundTrips).toBe(1);
    await expectProblem(await me(thief.access_token), 401, "invalid_token");
    await expectProblem(await refresh(thief.refresh_token), 401, "invalid_token");
    expect((await me(owner.access_token)).status).toBe(200);
    expect((await (await sessionsOf(owner.access_token)).json<SessionView[]>()).map((session) => session.id)).toEqual([
      sessionIdOf(owner.access_token),
    ]);
  });

  it("is 404 for another user's session, which goes on", async () => {
    const [user, other] = [await seededUser(), await seededUser()];
    const mine = await login(user);
    const theirs = await login(other);
    await expectProblem(
      await api(`/auth/sessions/${sessionIdOf(theirs.access_token)}`, bearer(mine.access_token, { method: "DELETE" })),
      404,
      "session_not_found",
    );
    expect((await me(theirs.access_token)).status).toBe(200);
  });

  it("is 422 for an id that is not a session id", async () => {
    const { access_token } = await login(await seededUser());
    await expectProblem(await api("/auth/sessions/not-a-uuid", bearer(access_token, { method: "DELETE" })), 422, "validation_failed");
  });
});

describe("POST /auth/logout/all", () => {
  it("ends every session of the caller, this one included, in one round trip", async () => {
    const user = await seededUser();
    const sessions = [await loginFrom(user, PHONE), await loginFrom(user, LAPTOP)];
    const { result: response, roundTrips } = await countRoundTrips((call) =>
      call("/auth/logout/all", bearer(sessions[0]?.access_token ?? "", { method: "POST" })),
    );
    expect(response.status).toBe(204);
    expect(roundTrips).toBe(1);
    for (const session of sessions) {
      await expectProblem(await me(session.access_token), 401, "invalid_token");
      await expectProblem(await refresh(session.refresh_token), 401, "invalid_token");
    }
  });
});

describe("a user's sessions, for an admin", () => {
  it("lists and ends them, one round trip each", async () => {
    const admin = await seededUser("admin");
    const adminToken = (await login(admin)).access_token;
    const user = await seededUser();
    const theirs = await loginFrom(user, PHONE);
    const listed = await countRoundTrips((call) => call(`/users/${user.id}/sessions`, bearer(adminToken)));
    expect(listed.result.status).toBe(200);
    expect(listed.roundTrips).toBe(1);
    expect(await listed.result.json()).toEqual([expect.objectContaining({ id: sessionIdOf(theirs.access_token), current: false })]);
    const ended = await countRoundTrips((call) => call(`/users/${user.id}/sessions`, bearer(adminToken, { method: "DELETE" })));
    expect(ended.result.status).toBe(204);
    expect(ended.roundTrips).toBe(1);
    await expectProblem(await me(theirs.access_token), 401, "invalid_token");
    expect(await (await api(`/users/${user.id}/sessions`, bearer(adminToken))).json()).toEqual([]);
  });

  it("ends one of them, in one round trip; the user's other sessions go on", async () => {
    const adminToken = (await login(await seededUser("admin"))).access_token;
    const user = await seededUser();
    const [stolen, kept] = [await loginFrom(user, PHONE), await loginFrom(user, LAPTOP)];
    const ended = await countRoundTrips((call) =>
      call(`/users/${user.id}/sessions/${sessionIdOf(stolen.access_token)}`, bearer(adminToken, { method: "DELETE" })),
    );
    expect(ended.result.status).toBe(204);
    expect(ended.roundTrips).toBe(1);
    await expectProblem(await me(stolen.access_token), 401, "invalid_token");
    await expectProblem(await refresh(stolen.refresh_token), 401, "invalid_token");
    expect((await me(kept.access_token)).status).toBe(200);
    expect((await (await api(`/users/${user.id}/sessions`, bearer(adminToken))).json<SessionView[]>()).map((one) => one.id)).toEqual([
      sessionIdOf(kept.access_token),
    ]);
  });

  it("ends one only for its own user: another user's session id is 404 and goes on; a non-admin is 403", async () => {
    const admin = await seededUser("admin");
    const adminToken = (await login(admin)).access_token;
    const [user, other] = [await seededUser(), await seededUser()];
    const theirs = await login(other);
    const endAs = (token: string, userId: number) =>
      api(`/users/${userId}/sessions/${sessionIdOf(theirs.access_token)}`, bearer(token, { method: "DELETE" }));
    await expectProblem(await endAs(adminToken, user.id), 404, "session_not_found");
    await expectProblem(await endAs(adminToken, 999999999999), 404, "user_not_found");
    await expectProblem(await endAs((await login(user)).access_token, other.id), 403, "forbidden");
    expect((await me(theirs.access_token)).status).toBe(200);
  });

  it("is 404 for a user who does not exist, and 403 for a non-admin", async () => {
    const admin = await seededUser("admin");
    const adminToken = (await login(admin)).access_token;
    await expectProblem(await api("/users/999999999999/sessions", bearer(adminToken)), 404, "user_not_found");
    await expectProblem(await api("/users/999999999999/sessions", bearer(adminToken, { method: "DELETE" })), 404, "user_not_found");
    const user = await seededUser();
    const { access_token } = await login(user);
    await expectProblem(await api(`/users/${admin.id}/sessions`, bearer(access_token)), 403, "forbidden");
    await expectProblem(await api(`/users/${admin.id}/sessions`, bearer(access_token, { method: "DELETE" })), 403, "forbidden");
  });
});
