// Who owns an account, attacked through the API: pre-registering someone else's address, keeping a
// right an admin lost, and the smaller ways a stranger's input outlived what it should not.
import { describe, expect, inject, it, vi } from "vitest";
import { getDb } from "../../src/db/client.ts";
import type { PublicUser } from "../../src/schemas/user.ts";
import {
  api,
  bearer,
  type Call,
  client,
  expectProblem,
  json,
  latestCode,
  login,
  mailTo,
  manualClock,
  PASSWORD,
  seededUser,
  uniqueEmail,
} from "./helpers.ts";

const db = getDb(inject("databaseUrl"));
const ATTACKER_PASSWORD = "the attacker's own password";
const VICTIM_PASSWORD = "the victim's real password";

const signup = (call: Call, email: string, password: string, firstName: string) =>
  call("/auth/signup", json("POST", { email, password, first_name: firstName }));
const verify = (call: Call, email: string, code: string, password: string) => call("/auth/verify", json("POST", { email, code, password }));
const tryLogin = (email: string, password: string) => api("/auth/login", json("POST", { email, password }));

describe("pre-registering someone else's address (account pre-hijacking)", () => {
  it("the victim signing up within the minute takes the account, whichever code is in the inbox; the attacker cannot log in", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const email = uniqueEmail("victim");
    const attackers = await signup(call, email, ATTACKER_PASSWORD, "Mallory");
    expect(attackers.status).toBe(201);
    const attackersCode = await latestCode(email);
    clock.advance(20);
    const victims = await signup(call, email, VICTIM_PASSWORD, "Victoria");
    expect(victims.status).toBe(201);
    // the victim's answer shows nothing the attacker typed: this signup's names and time
    const [first, second] = [await attackers.json<PublicUser>(), await victims.json<PublicUser>()];
    expect(second).toMatchObject({ first_name: "Victoria", created_at: clock().toISOString() });
    expect(second.created_at).not.toBe(first.created_at);
    // within the minute no second code went out: the attacker's is the only one in the inbox, and it works
    expect(await mailTo(email)).toHaveLength(1);
    expect((await verify(call, email, attackersCode, VICTIM_PASSWORD)).status).toBe(200);
    await expectProblem(await tryLogin(email, ATTACKER_PASSWORD), 401, "invalid_credentials");
    expect((await tryLogin(email, VICTIM_PASSWORD)).status).toBe(200);
  });

  it("an attacker signing up after the victim cannot have the victim prove the attacker's password; the victim has a next step", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const email = uniqueEmail("victim");
    expect((await signup(call, email, VICTIM_PASSWORD, "Victoria")).status).toBe(201);
    const victimsCode = await latestCode(email);
    clock.advance(61);
    expect((await signup(call, email, ATTACKER_PASSWORD, "Mallory")).status).toBe(201);
    const attackersCode = await latestCode(email);
    expect(attackersCode).not.toBe(victimsCode);
    // the victim's first code died with the new signup; the newest one is right, but not for the victim's password
    await expectProblem(await verify(call, email, victimsCode, VICTIM_PASSWORD), 400, "code_invalid");
    await expectProblem(await verify(call, email, attackersCode, VICTIM_PASSWORD), 400, "signup_password_mismatch");
    // the next step the answer names: sign up again, then enter the newest code
    expect((await signup(call, email, VICTIM_PASSWORD, "Victoria")).status).toBe(201);
    expect((await verify(call, email, attackersCode, VICTIM_PASSWORD)).status).toBe(200);
    await expectProblem(await tryLogin(email, ATTACKER_PASSWORD), 401, "invalid_credentials");
    expect((await tryLogin(email, VICTIM_PASSWORD)).status).toBe(200);
    const user = await db.selectFrom("users").select("first_name").where("email", "=", email).executeTakeFirstOrThrow();
    expect(user.first_name).toBe("Victoria");
  });

  it("a signup's code completes it only with the password of the latest signup, and says so", async () => {
    const email = uniqueEmail();
    expect((await signup(api, email, PASSWORD, "Ada")).status).toBe(201);
    const code = await latestCode(email);
    await expectProblem(await api("/auth/verify", json("POST", { email, code })), 422, "validation_failed");
    await expectProblem(await verify(api, email, code, "not the password"), 400, "signup_password_mismatch");
    expect((await verify(api, email, code, PASSWORD)).status).toBe(200);
  });
});

describe("privileged writes check the database, not the token's claim", () => {
  it("a demoted admin's unexpired token changes nothing (reproduced: demoted in Postgres, before the edge knows)", async () => {
    const [demoted, other, user] = await Promise.all([seededUser("admin"), seededUser("admin"), seededUser("user")]);
    const token = (await login(demoted)).access_token;
    // what another location sees during KV's propagation: the row changed, the token still says admin
    await db.updateTable("users").set({ role: "user" }).where("id", "=", String(demoted.id)).execute();
    await expectProblem(await api(`/users/${demoted.id}`, bearer(token, json("PATCH", { role: "admin" }))), 403, "forbidden");
    await expectProblem(await api(`/users/${other.id}`, bearer(token, { method: "DELETE" })), 403, "forbidden");
    await expectProblem(await api(`/users/${user.id}`, bearer(token, json("PATCH", { status: "disabled" }))), 403, "forbidden");
    await expectProblem(await api(`/users/${user.id}/sessions`, bearer(token, { method: "DELETE" })), 403, "forbidden");
    const rows = await db
      .selectFrom("users")
      .select(["id", "role", "status"])
      .where("id", "in", [String(demoted.id), String(other.id), String(user.id)])
      .execute();
    expect(rows.map(({ role, status }) => `${role}/${status}`).sort()).toEqual(["admin/verified", "user/verified", "user/verified"]);
  });

  it("a disabled user's token cannot change their own account either", async () => {
    const user = await seededUser();
    const token = (await login(user)).access_token;
    await db.updateTable("users").set({ status: "disabled" }).where("id", "=", String(user.id)).execute();
    await expectProblem(await api(`/users/${user.id}`, bearer(token, json("PATCH", { first_name: "Mallory" }))), 403, "forbidden");
  });
});

describe("the smaller ways in", () => {
  it("the audit trail keeps the request id the server made, not one the client chose", async () => {
    const user = await seededUser();
    const response = await api(
      "/auth/login",
      json("POST", { email: user.email, password: PASSWORD }, { "X-Request-Id": "forged-by-client" }),
    );
    expect(response.status).toBe(200);
    const event = await db
      .selectFrom("auth_events")
      .select("request_id")
      .where("user_id", "=", String(user.id))
      .where("type", "=", "login_succeeded")
      .executeTakeFirstOrThrow();
    expect(event.request_id).toBe(response.headers.get("X-Request-Id"));
    expect(event.request_id).not.toBe("forged-by-client");
  });

  it("a wrong reset code costs no password hashing; a right one costs one", async () => {
    const user = await seededUser();
    expect((await api("/auth/password/forgot", json("POST", { email: user.email }))).status).toBe(202);
    const code = await latestCode(user.email);
    const derive = vi.spyOn(crypto.subtle, "deriveBits");
    try {
      const wrong = code === "000000" ? "000001" : "000000";
      await expectProblem(
        await api("/auth/password/reset", json("POST", { email: user.email, code: wrong, new_password: "a new passphrase" })),
        400,
        "code_invalid",
      );
      expect(derive).not.toHaveBeenCalled();
      expect((await api("/auth/password/reset", json("POST", { email: user.email, code, new_password: "a new passphrase" }))).status).toBe(
        200,
      );
      expect(derive).toHaveBeenCalledTimes(6);
    } finally {
      derive.mockRestore();
    }
  });

  it("disabling an account ends its pending codes: a reset code asked for before does not work after", async () => {
    const [admin, user] = await Promise.all([seededUser("admin"), seededUser()]);
    const adminToken = (await login(admin)).access_token;
    expect((await api("/auth/password/forgot", json("POST", { email: user.email }))).status).toBe(202);
    const code = await latestCode(user.email);
    expect((await api(`/users/${user.id}`, bearer(adminToken, json("PATCH", { status: "disabled" })))).status).toBe(200);
    expect((await api(`/users/${user.id}`, bearer(adminToken, json("PATCH", { status: "verified" })))).status).toBe(200);
    await expectProblem(
      await api("/auth/password/reset", json("POST", { email: user.email, code, new_password: "taken over at last" })),
      400,
      "code_invalid",
    );
  });

  it("a reset asked for right after verifying arrives: one code a minute per purpose, not per address", async () => {
    const email = uniqueEmail();
    expect((await signup(api, email, PASSWORD, "Ada")).status).toBe(201);
    expect((await verify(api, email, await latestCode(email), PASSWORD)).status).toBe(200);
    expect((await api("/auth/password/forgot", json("POST", { email }))).status).toBe(202);
    const [newest] = await mailTo(email);
    expect(newest?.subject).toMatch(/reset/i);
  });
});
