// The audit trail: what it records, what it never holds, and who may read it.
import type { AuthEvent } from "../../src/schemas/events.ts";
import { beforeAll, describe, expect, it } from "vitest";
import {
  api,
  bearer,
  type Call,
  client,
  countRoundTrips,
  expectProblem,
  json,
  latestCode,
  login,
  manualClock,
  PASSWORD,
  seededUser,
  type TestUser,
  type Tokens,
  uniqueEmail,
} from "./helpers.ts";

const DEVICE = { "User-Agent": "AuditTest/1.0", "CF-Connecting-IP": "198.51.100.44" };

let admin: TestUser;
let adminToken: string;

beforeAll(async () => {
  admin = await seededUser("admin");
  adminToken = (await login(admin)).access_token;
});

async function eventsOf(userId: number, query = ""): Promise<AuthEvent[]> {
  const response = await api(`/users/${userId}/events?limit=100${query}`, bearer(adminToken));
  expect(response.status).toBe(200);
  return response.json();
}

describe("the audit trail", () => {
  it("records an account's life, each event with who acted, from where, and the request", async () => {
    const clock = manualClock();
    const call: Call = client({ clock });
    const send = (path: string, init: RequestInit) =>
      call(path, { ...init, headers: { ...DEVICE, ...Object.fromEntries(new Headers(init.headers)) } });
    const email = uniqueEmail("audited");
    const signup = await send("/auth/signup", json("POST", { email, password: PASSWORD }));
    const { id } = await signup.json<{ id: number }>();
    expect((await send("/auth/verify", json("POST", { email, code: await latestCode(email), password: PASSWORD }))).status).toBe(200);
    expect((await send("/auth/login", json("POST", { email, password: "wrong password" }))).status).toBe(401);
    const first = await (await send("/auth/login", json("POST", { email, password: PASSWORD }))).json<Tokens>();
    expect((await send("/auth/refresh", json("POST", { refresh_token: first.refresh_token }))).status).toBe(200);
    clock.advance(10);
    // the spent token again, long after the grace window: a reuse
    expect((await send("/auth/refresh", json("POST", { refresh_token: first.refresh_token }))).status).toBe(401);
    const second = await (await send("/auth/login", json("POST", { email, password: PASSWORD }))).json<Tokens>();
    expect((await send("/auth/logout", json("POST", { refresh_token: second.refresh_token }))).status).toBe(204);
    clock.advance(61);
    expect((await send("/auth/password/forgot", json("POST", { email }))).status).toBe(202);
    const newPassword = "the second passphrase";
    expect(
      (await send("/auth/password/reset", json("POST", { email, code: await latestCode(email), new_password: newPassword }))).status,
    ).toBe(200);
    const third = await (await send("/auth/login", json("POST", { email, password: newPassword }))).json<Tokens>();
    const changed = await send(
      "/auth/password/change",
      bearer(third.access_token, json("POST", { current_password: newPassword, new_password: PASSWORD })),
    );
    expect(changed.status).toBe(200);
    const fresh = await changed.json<Tokens>();
    clock.advance(61);
    const moved = uniqueEmail("moved");
    expect(
      (await send(`/users/${id}`, bearer(fresh.access_token, json("PATCH", { email: moved, current_password: PASSWORD })))).status,
    ).toBe(200);
    expect((await send("/auth/verify", json("POST", { email: moved, code: await latestCode(moved), password: PASSWORD }))).status).toBe(
      200,
    );
    expect((await send(`/users/${id}`, bearer(adminToken, json("PATCH", { role: "admin" })))).status).toBe(200);
    expect((await send(`/users/${id}`, bearer(adminToken, json("PATCH", { status: "disabled" })))).status).toBe(200);

    const events = (await eventsOf(id)).reverse();
    expect(events.map((event) => event.type)).toEqual([
      "signed_up",
      "email_verified",
      "login_failed",
      "login_succeeded",
      "refresh_reuse_detected",
      "login_succeeded",
      "logged_out",
      "password_reset_requested",
      "password_reset_completed",
      "login_succeeded",
      "password_changed",
      "email_change_requested",
      "email_changed",
      "role_changed",
      "status_changed",
    ]);
    for (const event of events) {
      expect(event).toMatchObject({
        user_id: id,
        client_address: DEVICE["CF-Connecting-IP"],
        user_agent: DEVICE["User-Agent"],
        request_id: expect.any(String),
      });
    }
    const byType = (type: string) => events.find((event) => event.type === type);
    expect(byType("login_failed")?.details).toEqual({ reason: "wrong_password", in_a_row: 1, run: "account" });
    expect(byType("role_changed")).toMatchObject({
      actor_id: admin.id,
      user_email: moved,
      actor_email: admin.email,
      details: { from: "user", to: "admin" },
    });
    expect(byType("status_changed")).toMatchObject({ actor_id: admin.id, details: { from: "verified", to: "disabled" } });
    expect(byType("password_changed")?.actor_id).toBe(id);
    expect(byType("email_changed")?.details).toEqual({ by: "owner", from: email, to: moved });
    // no password, code or token anywhere in the trail
    const trail = JSON.stringify(events);
    for (const secret of [PASSWORD, newPassword, first.refresh_token, first.access_token, fresh.refresh_token, third.access_token]) {
      expect(trail).not.toContain(secret);
    }
    expect(trail).not.toMatch(/"\d{6}"/);

    // an admin's delete erases at once: the events stay, under a pseudonym in place of the id
    const deleted = await send(`/users/${id}`, bearer(adminToken, { method: "DELETE" }));
    expect(deleted.status).toBe(204);
    await expectProblem(await api(`/users/${id}/events`, bearer(adminToken)), 404, "user_not_found");
    const requestId = deleted.headers.get("X-Request-Id");
    const deletions = await (await api("/events?type=user_deleted&limit=100", bearer(adminToken))).json<AuthEvent[]>();
    expect(deletions.find((event) => event.request_id === requestId)).toMatchObject({
      user_id: null,
      user_email: null,
      user_pseudonym: expect.any(String),
      actor_id: admin.id,
      actor_email: admin.email,
      details: { by: "admin" },
    });
  });

  it("names why a login failed: unknown address, unverified, disabled, wrong password, throttled", async () => {
    const unknown = uniqueEmail("ghost");
    await api("/auth/login", json("POST", { email: unknown, password: "a guess" }));
    const failures = await (await api(`/events?type=login_failed&limit=100`, bearer(adminToken))).json<AuthEvent[]>();
    expect(failures.find((event) => event.details.email === unknown)).toMatchObject({
      user_id: null,
      details: { reason: "unknown_address" },
    });

    const pending = uniqueEmail("pending");
    const signup = await api("/auth/signup", json("POST", { email: pending, password: PASSWORD }));
    const { id } = await signup.json<{ id: number }>();
    expect((await api("/auth/login", json("POST", { email: pending, password: PASSWORD }))).status).toBe(403);
    const user = await seededUser("user");
    expect((await api(`/users/${user.id}`, bearer(adminToken, json("PATCH", { status: "disabled" })))).status).toBe(200);
    expect((await api("/auth/login", json("POST", { email: user.email, password: PASSWORD }))).status).toBe(403);
    // wrong passwords until the account makes the next try wait
    for (let attempt = 0; attempt < 10; attempt++) {
      if ((await api("/auth/login", json("POST", { email: user.email, password: `guess ${attempt}` }))).status === 429) break;
    }
    expect((await eventsOf(id, "&type=login_failed")).map((event) => event.details.reason)).toEqual(["unverified"]);
    const reasons = (await eventsOf(user.id, "&type=login_failed")).map((event) => event.details.reason);
    expect(reasons).toContain("disabled");
    expect(reasons).toContain("wrong_password");
    expect(reasons).toContain("throttled");
  });

  it("records who ended a session: the owner one of theirs, an admin all of a user's", async () => {
    const user = await seededUser("user");
    const kept = await login(user);
    await login(user);
    // the owner picks the other, stolen session from their list, as a client would
    const listed = await (await api("/auth/sessions", bearer(kept.access_token))).json<{ id: string; current: boolean }[]>();
    const keptId = listed.find((session) => session.current)?.id;
    const stolenId = listed.find((session) => !session.current)?.id;
    expect((await api(`/auth/sessions/${stolenId}`, bearer(kept.access_token, { method: "DELETE" }))).status).toBe(204);
    expect((await api(`/users/${user.id}/sessions`, bearer(adminToken, { method: "DELETE" }))).status).toBe(204);
    expect((await eventsOf(user.id, "&type=session_ended")).reverse()).toMatchObject([
      { user_id: user.id, actor_id: user.id, details: { by: "owner", all: false, session_id: stolenId } },
      { user_id: user.id, actor_id: admin.id, details: { by: "admin", all: true, session_id: keptId } },
    ]);
  });

  it("records an admin's change of a user's email, with the admin as the one who acted", async () => {
    const user = await seededUser("user");
    const moved = uniqueEmail("moved");
    expect((await api(`/users/${user.id}`, bearer(adminToken, json("PATCH", { email: moved })))).status).toBe(200);
    expect(await eventsOf(user.id, "&type=email_changed")).toMatchObject([
      { user_id: user.id, actor_id: admin.id, details: { by: "admin", from: user.email, to: moved } },
    ]);
  });

  it("records a wrong current password of a password change as a failed login", async () => {
    const user = await seededUser("user");
    const { access_token } = await login(user);
    const change = json("POST", { current_password: "not my password", new_password: "a brand new passphrase" });
    await expectProblem(await api("/auth/password/change", bearer(access_token, change)), 401, "invalid_credentials");
    expect(await eventsOf(user.id, "&type=login_failed")).toMatchObject([
      { user_id: user.id, actor_id: user.id, details: { reason: "wrong_password", during: "password_change" } },
    ]);
  });

  it("lists newest first in pages, filtered by type and user, in one round trip", async () => {
    const user = await seededUser("user");
    for (let index = 0; index < 3; index++) await login(user);
    const { result: response, roundTrips } = await countRoundTrips((call) =>
      call(`/events?type=login_succeeded&user_id=${user.id}&limit=2`, bearer(adminToken)),
    );
    expect(roundTrips).toBe(1);
    const page = await response.json<AuthEvent[]>();
    expect(page).toHaveLength(2);
    expect(page.every((event) => event.type === "login_succeeded" && event.user_id === user.id)).toBe(true);
    expect(page[0]?.id).toBeGreaterThan(page[1]?.id ?? 0);
    const next = /<([^>]+)>; rel="next"/.exec(response.headers.get("Link") ?? "")?.[1];
    expect(next).toBeDefined();
    const rest = await (await api(new URL(next ?? "").pathname + new URL(next ?? "").search, bearer(adminToken))).json<AuthEvent[]>();
    expect(rest).toHaveLength(1);
    expect(rest[0]?.id).toBeLessThan(page[1]?.id ?? 0);
  });

  it("finds one account's events by its address as well as its id, in one round trip, and says so when no account has it", async () => {
    const user = await seededUser("user");
    await login(user);
    const byAddress = await countRoundTrips((call) =>
      call(`/events?email=${encodeURIComponent(user.email.toUpperCase())}`, bearer(adminToken)),
    );
    expect(byAddress.roundTrips).toBe(1);
    const events = await byAddress.result.json<AuthEvent[]>();
    expect(events.map((event) => [event.type, event.user_email])).toEqual([
      ["login_succeeded", user.email],
      ["signed_up", user.email],
    ]);
    const nobody = await countRoundTrips((call) => call(`/events?email=${encodeURIComponent(uniqueEmail("nobody"))}`, bearer(adminToken)));
    expect(nobody.roundTrips).toBe(1);
    expect((await expectProblem(nobody.result, 404, "user_not_found")).detail).toMatch(/^No account has the address nobody-/);
    await expectProblem(await api("/events?user_id=999999999999999999", bearer(adminToken)), 404, "user_not_found");
    const both = await expectProblem(
      await api(`/events?user_id=${user.id}&email=${user.email}`, bearer(adminToken)),
      422,
      "validation_failed",
    );
    expect(both.errors?.map((error) => error.field)).toEqual(["email"]);
    const invalid = await expectProblem(await api("/events?email=not-an-address", bearer(adminToken)), 422, "validation_failed");
    expect(invalid.errors?.map((error) => error.field)).toEqual(["email"]);
    // an account with no events of a type is found, and has none
    expect(await (await api(`/events?email=${encodeURIComponent(user.email)}&type=mfa_reset`, bearer(adminToken))).json()).toEqual([]);
  });

  it("reads one user's events in one round trip", async () => {
    const user = await seededUser("user");
    await login(user);
    const { result: response, roundTrips } = await countRoundTrips((call) => call(`/users/${user.id}/events`, bearer(adminToken)));
    expect(roundTrips).toBe(1);
    expect((await response.json<AuthEvent[]>()).map((event) => event.type)).toEqual(["login_succeeded", "signed_up"]);
  });

  it("counts sign-ups, sign-ins and refused sign-ins per day, every day there, in one round trip", async () => {
    // a time of its own, so the days counted hold only this test's events
    const clock = manualClock(new Date("2031-03-10T23:30:00Z"));
    const call = client({ clock });
    const day = (days: number) => clock.advance(days * 24 * 60 * 60);
    const dayAdmin = await seededUser("admin");
    const user = await seededUser("user");
    const signIn = (password: string) => call("/auth/login", json("POST", { email: user.email, password }));
    expect((await call("/auth/signup", json("POST", { email: uniqueEmail("daily"), password: PASSWORD }))).status).toBe(201);
    expect((await signIn(PASSWORD)).status).toBe(200);
    day(2);
    for (const password of ["wrong one", "wrong two", PASSWORD]) await signIn(password);
    await call("/auth/login", json("POST", { email: uniqueEmail("nobody"), password: "a guess" }));
    const { access_token } = await login(user, call);
    // a wrong password asked again of someone signed in is no sign-in refused
    const change = json("POST", { current_password: "not it", new_password: "a brand new passphrase" });
    await expectProblem(await call("/auth/password/change", bearer(access_token, change)), 401, "invalid_credentials");
    day(1);
    const adminToken = (await login(dayAdmin, call)).access_token;
    const { result, roundTrips } = await countRoundTrips((counted) => counted("/events/daily?days=5", bearer(adminToken)), { clock });
    expect(roundTrips).toBe(1);
    expect(await result.json()).toEqual([
      { day: "2031-03-09", signed_up: 0, signed_in: 0, refused: 0 },
      { day: "2031-03-10", signed_up: 1, signed_in: 1, refused: 0 },
      { day: "2031-03-11", signed_up: 0, signed_in: 0, refused: 0 },
      { day: "2031-03-12", signed_up: 0, signed_in: 2, refused: 3 },
      { day: "2031-03-13", signed_up: 0, signed_in: 1, refused: 0 },
    ]);
    const month = await (await call("/events/daily", bearer(adminToken))).json<{ day: string }[]>();
    expect(month.map((entry) => entry.day)).toHaveLength(30);
    expect(month.at(-1)?.day).toBe("2031-03-13");
    for (const days of ["0", "91", "x"]) {
      const problem = await expectProblem(await call(`/events/daily?days=${days}`, bearer(adminToken)), 422, "validation_failed");
      expect(problem.errors?.map((error) => error.field)).toEqual(["days"]);
    }
  });

  it("is for admins only", async () => {
    const user = await seededUser("user");
    const { access_token } = await login(user);
    await expectProblem(await api("/events", bearer(access_token)), 403, "forbidden");
    await expectProblem(await api("/events/daily", bearer(access_token)), 403, "forbidden");
    await expectProblem(await api(`/users/${user.id}/events`, bearer(access_token)), 403, "forbidden");
    await expectProblem(await api("/events"), 401, "unauthorized");
  });
});
