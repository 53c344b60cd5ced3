// The support calls an admin answers: "I'm locked out" (where the account's sign-in stands, and the unlock that
// lifts a lock or a wait of wrong passwords), "I lost my phone" (the factor's standing; its reset is
// second-factor.test.ts's).
import { describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import { POLICY } from "../../src/policy.ts";
import type { DataExport } from "../../src/schemas/leaving.ts";
import { type AdminUser, AdminUserSchema } from "../../src/schemas/user.ts";
import { challenge, codeAt, seededFactor } from "./factors.ts";
import {
  bearer,
  type Call,
  client,
  countRoundTrips,
  expectProblem,
  json,
  login,
  mailTo,
  manualClock,
  PASSWORD,
  seededUser,
  type TestUser,
} from "./helpers.ts";

const db = getDb(inject("databaseUrl"));
const HOUR = 60 * 60;

const tryLogin = (call: Call, user: TestUser, password: string, deviceToken?: string) =>
  call("/auth/login", json("POST", { email: user.email, password, device_token: deviceToken }));

async function adminView(call: Call, token: string, user: TestUser): Promise<AdminUser> {
  const response = await call(`/users/${user.id}`, bearer(token));
  expect(response.status).toBe(200);
  return AdminUserSchema.strict().parse(await response.json());
}

const unlock = (call: Call, token: string, user: TestUser) => call(`/users/${user.id}/unlock`, bearer(token, { method: "POST" }));

/** An admin signed in on `call` (its clock, if any, is the one step-up is judged by). */
async function adminOn(call: Call): Promise<{ admin: TestUser; token: string }> {
  const admin = await seededUser("admin");
  return { admin, token: (await login(admin, call)).access_token };
}

async function setRun(user: TestUser, failures: number): Promise<void> {
  await db.updateTable("users").set({ login_failures: failures }).where("id", "=", String(user.id)).execute();
}

describe("where a user's sign-in stands, in the admin's view of them", () => {
  it("is open, with no factor and no paused codes, for a user who never got anything wrong", async () => {
    const call = client();
    const { token } = await adminOn(call);
    const user = await seededUser();
    expect((await adminView(call, token, user)).sign_in).toEqual({
      password: { standing: "open", wrong_in_a_row: 0, until: null, blocked_devices: 0 },
      second_factor: { standing: "off", until: null },
      codes_paused: [],
      last: null,
    });
  });

  it("waits, until the time the next try may come, after five wrong passwords; is locked after a hundred", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { token } = await adminOn(call);
    const user = await seededUser();
    for (let failure = 1; failure <= POLICY.passwordRun.free + 1; failure++) await tryLogin(call, user, "wrong guess");
    // the fifth wrong one makes the next try wait a second
    expect((await adminView(call, token, user)).sign_in.password).toEqual({
      standing: "waiting",
      wrong_in_a_row: POLICY.passwordRun.free + 1,
      until: new Date(clock().getTime() + 1000).toISOString(),
      blocked_devices: 0,
    });
    clock.advance(1);
    expect((await adminView(call, token, user)).sign_in.password).toMatchObject({ standing: "open", until: null });

    await setRun(user, POLICY.passwordRun.lockAt - 1);
    await expectProblem(await tryLogin(call, user, "the hundredth wrong guess"), 401, "invalid_credentials");
    clock.advance(30 * 24 * HOUR);
    const later = (await login(await seededUser("admin"), call)).access_token;
    expect((await adminView(call, later, user)).sign_in.password).toEqual({
      standing: "locked",
      wrong_in_a_row: POLICY.passwordRun.lockAt,
      until: null,
      blocked_devices: 0,
    });
  });

  it("names a known device whose own run blocks it, the second factor on and then paused, and paused codes", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { token } = await adminOn(call);
    const user = await seededUser();
    const { device_token } = await login(user, call);
    for (let failure = 1; failure <= POLICY.passwordRun.free + 1; failure++) await tryLogin(call, user, "wrong guess", device_token);
    expect((await adminView(call, token, user)).sign_in.password).toMatchObject({
      standing: "open",
      wrong_in_a_row: 0,
      blocked_devices: 1,
    });

    await seededFactor(user, clock());
    expect((await adminView(call, token, user)).sign_in.second_factor).toEqual({ standing: "on", until: null });
    const pausedUntil = new Date(clock().getTime() + POLICY.codeRun.pauseHours * HOUR * 1000);
    await db.updateTable("totp_factors").set({ failures: 100, paused_until: pausedUntil }).where("user_id", "=", String(user.id)).execute();
    await db
      .insertInto("code_failures")
      .values({ address: user.email, scope: "reset_password", failures: 100, paused_until: pausedUntil, last_failure_at: clock() })
      .execute();
    const { sign_in } = await adminView(call, token, user);
    expect(sign_in.second_factor).toEqual({ standing: "paused", until: pausedUntil.toISOString() });
    expect(sign_in.codes_paused).toEqual([{ purpose: "reset_password", until: pausedUntil.toISOString() }]);
    // a pause over is no pause
    clock.advance(POLICY.codeRun.pauseHours * HOUR + 1);
    const later = (await login(await seededUser("admin"), call)).access_token;
    expect((await adminView(call, later, user)).sign_in).toMatchObject({ second_factor: { standing: "on" }, codes_paused: [] });
  });

  it("comes with every user of the list, in the list's one round trip", async () => {
    const call = client();
    const { token } = await adminOn(call);
    const user = await seededUser();
    await setRun(user, 3);
    const { result, roundTrips } = await countRoundTrips((counted) =>
      counted(`/users?email=${encodeURIComponent(user.email)}`, bearer(token)),
    );
    expect(result.status).toBe(200);
    const [listed] = AdminUserSchema.strict()
      .array()
      .parse(await result.json());
    expect(listed?.sign_in.password).toEqual({ standing: "open", wrong_in_a_row: 3, until: null, blocked_devices: 0 });
    expect(roundTrips).toBe(1);
  });
});

describe('the last sign-in, for "was that me?"', () => {
  const from = (agent: string, address: string) => ({ "User-Agent": agent, "CF-Connecting-IP": address });

  it("is kept on the account by the login's own statements (two round trips), and a refused one changes nothing", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { token } = await adminOn(call);
    const user = await seededUser();
    expect((await adminView(call, token, user)).sign_in.last).toBeNull();
    const signIn = (password: string, agent: string, address: string) =>
      call("/auth/login", json("POST", { email: user.email, password }, from(agent, address)));
    const { roundTrips } = await countRoundTrips(
      (counted) => counted("/auth/login", json("POST", { email: user.email, password: PASSWORD }, from("Phone/1.0", "192.0.2.141"))),
      { clock },
    );
    expect(roundTrips).toBe(2);
    const signedInAt = clock().toISOString();
    clock.advance(60);
    await expectProblem(await signIn("a wrong guess", "Burglar/6.6", "192.0.2.144"), 401, "invalid_credentials");
    expect((await adminView(call, token, user)).sign_in.last).toEqual({
      at: signedInAt,
      client: "Phone 1.0",
      user_agent: "Phone/1.0",
      client_address: "192.0.2.141",
    });
    expect((await signIn(PASSWORD, "Laptop/2.0", "192.0.2.142")).status).toBe(200);
    expect((await adminView(call, token, user)).sign_in.last).toEqual({
      at: clock().toISOString(),
      client: "Laptop 2.0",
      user_agent: "Laptop/2.0",
      client_address: "192.0.2.142",
    });
  });

  it("is kept by a sign-in completed with a second factor, not by the password that asked for it", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { token } = await adminOn(call);
    const user = await seededUser();
    const { secret } = await seededFactor(user, clock());
    const asked = await challenge(call, user);
    expect((await adminView(call, token, user)).sign_in.last).toBeNull();
    clock.advance(5);
    const completed = await call(
      "/auth/login/mfa",
      json("POST", { challenge_token: asked.token, code: await codeAt(secret, clock) }, from("Phone/1.0", "192.0.2.143")),
    );
    expect(completed.status).toBe(200);
    expect((await adminView(call, token, user)).sign_in.last).toEqual({
      at: clock().toISOString(),
      client: "Phone 1.0",
      user_agent: "Phone/1.0",
      client_address: "192.0.2.143",
    });
  });

  it("comes in the owner's data export", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    const exported = await client()("/users/me/export", bearer(access_token));
    expect(exported.status).toBe(200);
    expect((await exported.json<DataExport>()).account.last_sign_in).toEqual({
      at: expect.any(String),
      client: "an unknown client",
      user_agent: null,
      client_address: null,
    });
  });
});

describe("POST /users/{id}/unlock", () => {
  it("lets a locked account's owner sign in with their password at once: one round trip, the owner mailed, the event recorded", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { admin, token } = await adminOn(call);
    const user = await seededUser();
    await setRun(user, POLICY.passwordRun.lockAt - 1);
    await expectProblem(await tryLogin(call, user, "the hundredth wrong guess"), 401, "invalid_credentials");
    await expectProblem(await tryLogin(call, user, PASSWORD), 403, "account_locked");

    const { result, roundTrips } = await countRoundTrips((counted) => unlock(counted, token, user), { clock });
    expect(result.status).toBe(204);
    // the statement, then the notice marked sent after the answer
    expect(roundTrips).toBe(2);
    const [notice] = await mailTo(user.email);
    expect(notice?.subject).toMatch(/takes your password again/);
    expect((await adminView(call, token, user)).sign_in.password).toEqual({
      standing: "open",
      wrong_in_a_row: 0,
      until: null,
      blocked_devices: 0,
    });
    const event = await db
      .selectFrom("auth_events")
      .select(["actor_id", "details"])
      .where("user_id", "=", String(user.id))
      .where("type", "=", "account_unlocked")
      .executeTakeFirstOrThrow();
    expect(event).toEqual({
      actor_id: String(admin.id),
      details: { by: "admin", wrong_in_a_row: POLICY.passwordRun.lockAt, locked: true },
    });
    expect((await tryLogin(call, user, PASSWORD)).status).toBe(200);
  });

  it("ends a wait, and a known device's own run, so the next try is judged at once", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { token } = await adminOn(call);
    const user = await seededUser();
    const { device_token } = await login(user, call);
    for (let failure = 1; failure <= POLICY.passwordRun.free + 1; failure++) {
      await tryLogin(call, user, "wrong guess");
      await tryLogin(call, user, "wrong guess", device_token);
    }
    await expectProblem(await tryLogin(call, user, PASSWORD), 429, "too_many_requests");
    await expectProblem(await tryLogin(call, user, PASSWORD, device_token), 429, "too_many_requests");
    expect((await unlock(call, token, user)).status).toBe(204);
    expect((await tryLogin(call, user, PASSWORD, device_token)).status).toBe(200);
    expect((await tryLogin(call, user, PASSWORD)).status).toBe(200);
    const event = await db
      .selectFrom("auth_events")
      .select("details")
      .where("user_id", "=", String(user.id))
      .where("type", "=", "account_unlocked")
      .executeTakeFirstOrThrow();
    expect(event.details).toEqual({ by: "admin", wrong_in_a_row: POLICY.passwordRun.free + 1, locked: false });
  });

  it("is 409 account_not_locked when there is nothing to clear, 404 for no such user, and writes nothing", async () => {
    const call = client();
    const { token } = await adminOn(call);
    const user = await seededUser();
    await expectProblem(await unlock(call, token, user), 409, "account_not_locked");
    await expectProblem(await call("/users/999999999999999999/unlock", bearer(token, { method: "POST" })), 404, "user_not_found");
    const problem = await expectProblem(await call("/users/abc/unlock", bearer(token, { method: "POST" })), 422, "validation_failed");
    expect(problem.errors?.map((error) => error.field)).toEqual(["id"]);
    expect(await mailTo(user.email)).toEqual([]);
    expect(
      await db
        .selectFrom("auth_events")
        .select("id")
        .where("user_id", "=", String(user.id))
        .where("type", "=", "account_unlocked")
        .execute(),
    ).toEqual([]);
  });

  it("is an admin's write: a user is refused, a stale sign-in must confirm, a demoted admin's token changes nothing", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    await setRun(user, POLICY.passwordRun.lockAt);
    await db.updateTable("users").set({ login_blocked_until: "infinity" }).where("id", "=", String(user.id)).execute();
    const other = await seededUser();
    await expectProblem(await unlock(call, (await login(other, call)).access_token, user), 403, "forbidden");

    const { admin, token } = await adminOn(call);
    clock.advance(10 * 60 + 1);
    await expectProblem(await unlock(call, token, user), 401, "reauthentication_required");
    const fresh = (await login(admin, call)).access_token;
    await db.updateTable("users").set({ role: "user" }).where("id", "=", String(admin.id)).execute();
    await expectProblem(await unlock(call, fresh, user), 403, "forbidden");
    await expectProblem(await tryLogin(call, user, PASSWORD), 403, "account_locked");
    expect(await mailTo(user.email)).toEqual([]);
  });
});
