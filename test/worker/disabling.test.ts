// An admin's ban, and the rules that keep at least one admin able to act.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import worker from "../../src/index.ts";
import { api, bearer, expectProblem, json, login, PASSWORD, seededUser, type TestUser, type Tokens } from "./helpers.ts";

const patchUser = (id: number, body: unknown, token: string) => api(`/users/${id}`, bearer(token, json("PATCH", body)));
const loginAs = (user: TestUser, password = user.password) => api("/auth/login", json("POST", { email: user.email, password }));

let admin: TestUser;
let adminToken: string;

beforeAll(async () => {
  admin = await seededUser("admin");
  adminToken = (await login(admin)).access_token;
});

describe("disabling an account", () => {
  it("ends its sessions at once and refuses refresh; login says so only to the right password", async () => {
    const user = await seededUser();
    const session: Tokens = await login(user);
    const disabled = await patchUser(user.id, { status: "disabled" }, adminToken);
    expect(disabled.status).toBe(200);
    expect(await disabled.json()).toMatchObject({ status: "disabled" });
    await expectProblem(await api("/users/me", bearer(session.access_token)), 401, "invalid_token");
    await expectProblem(await api("/auth/refresh", json("POST", { refresh_token: session.refresh_token })), 401, "invalid_token");
    await expectProblem(await loginAs(user), 403, "account_disabled");
    // without the password, the answer is the one anybody gets: the status leaks nothing
    await expectProblem(await loginAs(user, "not the password"), 401, "invalid_credentials");
  });

  it("is undone by re-enabling: login works again", async () => {
    const user = await seededUser();
    expect((await patchUser(user.id, { status: "disabled" }, adminToken)).status).toBe(200);
    await expectProblem(await loginAs(user), 403, "account_disabled");
    expect((await patchUser(user.id, { status: "verified" }, adminToken)).status).toBe(200);
    expect((await loginAs(user)).status).toBe(200);
  });

  it("is never undone by the cron, even for an account that never verified", async () => {
    const user = await seededUser("user");
    const db = getDb(inject("databaseUrl"));
    await db
      .updateTable("users")
      .set({ status: "disabled", verified_at: null, created_at: new Date(Date.now() - 90 * 86_400_000) })
      .where("id", "=", String(user.id))
      .execute();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await db.selectFrom("users").select("status").where("id", "=", String(user.id)).executeTakeFirst()).toEqual({
      status: "disabled",
    });
  });

  it("is for admins only", async () => {
    const [user, other] = [await seededUser(), await seededUser()];
    const { access_token } = await login(user);
    await expectProblem(await patchUser(other.id, { status: "disabled" }, access_token), 403, "forbidden");
    await expectProblem(await patchUser(user.id, { status: "disabled" }, access_token), 403, "forbidden");
  });
});

describe("the admins themselves", () => {
  it("cannot disable themselves", async () => {
    const self = await seededUser("admin");
    const { access_token } = await login(self);
    await expectProblem(await patchUser(self.id, { status: "disabled" }, access_token), 409, "cannot_disable_self");
    expect((await api("/users/me", bearer(access_token))).status).toBe(200);
  });
});

it("keeps the password rules of signup for a login of a disabled account: a wrong password is counted", async () => {
  const user = await seededUser();
  expect((await patchUser(user.id, { status: "disabled" }, adminToken)).status).toBe(200);
  await expectProblem(
    await api("/auth/login", json("POST", { email: user.email, password: PASSWORD.toUpperCase() })),
    401,
    "invalid_credentials",
  );
});
