import { AdminUserSchema, type PublicUser, UserSchema } from "../../src/schemas/user.ts";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import {
  api,
  BASE_URL,
  bearer,
  type Call,
  countRoundTrips,
  expectProblem,
  json,
  latestCode,
  login,
  mailTo,
  PASSWORD,
  seededUser,
  type TestUser,
  uniqueEmail,
} from "./helpers.ts";

/** Asserts the exact public shape of a user (nothing else, no password hash) and returns it. */
function expectUser(body: unknown, expected: Partial<PublicUser> = {}): PublicUser {
  const user = UserSchema.strict().parse(body);
  expect(user).toMatchObject(expected);
  return user;
}

/** The same for an admin's view of a user, which adds where their sign-in stands; returns the account's part. */
function expectAdminUser(body: unknown, expected: Partial<PublicUser> = {}): PublicUser {
  const { sign_in: signIn, ...user } = AdminUserSchema.strict().parse(body);
  expect(signIn.password.standing).toEqual(expect.any(String));
  expect(user).toMatchObject(expected);
  return user;
}

const me = (token: string, call: Call = api) => call("/users/me", bearer(token));
const list = (query: string, token: string, call: Call = api) => call(`/users${query}`, bearer(token));
const getUser = (id: number | string, token: string, call: Call = api) => call(`/users/${id}`, bearer(token));
const patchUser = (id: number | string, body: unknown, token: string, call: Call = api) =>
  call(`/users/${id}`, bearer(token, json("PATCH", body)));
const deleteUser = (id: number | string, token: string, call: Call = api) => call(`/users/${id}`, bearer(token, { method: "DELETE" }));
const refresh = (token: string) => api("/auth/refresh", json("POST", { refresh_token: token }));
const loginAs = (email: string, password = PASSWORD) => api("/auth/login", json("POST", { email, password }));

/** A prefix no other test (or test file) shares, usable as the start of an email address. */
/** The code of the newest email-change message to `address` (a signup's code may have come after it). */
async function latestChangeCode(address: string): Promise<string> {
  const change = (await mailTo(address)).find((mail) => /^Confirm your new .+ email address$/.test(mail.subject));
  const code = change && /\b(\d{6})\b/.exec(change.text)?.[1];
  if (!code) throw new Error(`no email-change code was mailed to ${address}`);
  return code;
}

function uniquePrefix(label: string): string {
  return `${label}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** Signs up (unverified) through the API. */
async function signup(email: string): Promise<PublicUser> {
  const response = await api("/auth/signup", json("POST", { email, password: PASSWORD }));
  expect(response.status).toBe(201);
  return response.json();
}

async function listBody(response: Response): Promise<PublicUser[]> {
  expect(response.status).toBe(200);
  const users = await response.json<unknown[]>();
  expect(Array.isArray(users)).toBe(true);
  return users.map((user) => expectAdminUser(user));
}

/** The path (with query) of a `Link: <url>; rel="next"` header, or undefined without one. */
function nextLink(response: Response): string | undefined {
  const link = response.headers.get("Link");
  if (link === null) return undefined;
  const match = /^<([^>]+)>;\s*rel="next"$/.exec(link);
  expect(match, `Link header ${link}`).not.toBeNull();
  const url = new URL(match?.[1] ?? "");
  expect(url.origin).toBe(BASE_URL);
  return `${url.pathname}${url.search}`;
}

const cursorOf = (id: string) => btoa(`after:${id}`).replace(/=+$/, "");

let admin: TestUser;
let adminToken: string;

beforeAll(async () => {
  admin = await seededUser("admin");
  adminToken = (await login(admin)).access_token;
});

describe("GET /users/me", () => {
  it("answers the token's own user, only its public fields, in one round trip", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    const { result: response, roundTrips } = await countRoundTrips((call) => me(access_token, call));
    expect(response.status).toBe(200);
    expectUser(await response.json(), {
      id: user.id,
      email: user.email,
      first_name: null,
      last_name: null,
      status: "verified",
      role: "user",
    });
    expect(roundTrips).toBe(1);
  });

  it("answers an admin's own user too", async () => {
    const response = await me(adminToken);
    expect(response.status).toBe(200);
    expectUser(await response.json(), { id: admin.id, email: admin.email, role: "admin", status: "verified" });
  });
});

describe("authentication and roles", () => {
  it.each([
    ["GET", "/users/me"],
    ["GET", "/users"],
    ["GET", "/users/1"],
    ["PATCH", "/users/1"],
    ["DELETE", "/users/1"],
  ])("%s %s without a token is 401 unauthorized with a Bearer challenge", async (method, path) => {
    const init = method === "PATCH" ? json(method, { first_name: "X" }) : { method };
    const response = await api(path, init);
    await expectProblem(response, 401, "unauthorized");
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm="[^"]+"$/);
  });

  it("refuses a user's token on every admin route with 403 forbidden, and changes nothing", async () => {
    const [attacker, victim] = await Promise.all([seededUser("user"), seededUser("user")]);
    const { access_token } = await login(attacker);
    await expectProblem(await list("", access_token), 403, "forbidden");
    await expectProblem(await list(`?email=${encodeURIComponent(victim.email)}`, access_token), 403, "forbidden");
    await expectProblem(await getUser(victim.id, access_token), 403, "forbidden");
    await expectProblem(await getUser(attacker.id, access_token), 403, "forbidden");
    await expectProblem(await getUser(admin.id, access_token), 403, "forbidden");
    await expectProblem(await deleteUser(victim.id, access_token), 403, "forbidden");
    await expectProblem(await deleteUser(attacker.id, access_token), 403, "forbidden");
    await expectProblem(await deleteUser(admin.id, access_token), 403, "forbidden");
    // all still there, and the attacker's own session is still fine
    for (const id of [victim.id, attacker.id, admin.id]) expect((await getUser(id, adminToken)).status).toBe(200);
    expect((await me(access_token)).status).toBe(200);
  });
});

describe("GET /users/{id}", () => {
  it("lets an admin read any user, only its public fields, in one round trip", async () => {
    const email = uniqueEmail();
    const created = await signup(email);
    const { result: response, roundTrips } = await countRoundTrips((call) => getUser(created.id, adminToken, call));
    expect(response.status).toBe(200);
    expect(expectAdminUser(await response.json(), { status: "unverified", role: "user" })).toEqual(created);
    expect(roundTrips).toBe(1);
  });

  it("is 404 user_not_found for an id no user has", async () => {
    // ids come from an identity sequence; this one is far beyond any test run
    await expectProblem(await getUser("999999999999999999", adminToken), 404, "user_not_found");
  });

  it.each(["0", "-1", "abc", "1.5", "1e3", "01", "9999999999999999999"])(
    "is 422 validation_failed naming the field id for id %s",
    async (id) => {
      const problem = await expectProblem(await getUser(id, adminToken), 422, "validation_failed");
      expect(problem.errors?.map((error) => error.field)).toEqual(["id"]);
    },
  );
});

describe("GET /users", () => {
  it("lists newest first in one round trip, filtered by an email prefix", async () => {
    const prefix = uniquePrefix("list");
    const created: PublicUser[] = [];
    for (const label of ["a", "b", "c"]) created.push(await signup(`${prefix}-${label}@coffee.test`));
    const { result: response, roundTrips } = await countRoundTrips((call) => list(`?email=${prefix}`, adminToken, call));
    const users = await listBody(response);
    expect(users).toEqual([...created].reverse());
    expect(response.headers.get("Link")).toBeNull();
    expect(roundTrips).toBe(1);
  });

  it("matches the email prefix case-insensitively", async () => {
    const prefix = uniquePrefix("case");
    const user = await signup(`${prefix}@coffee.test`);
    const users = await listBody(await list(`?email=${prefix.toUpperCase()}`, adminToken));
    expect(users.map((u) => u.id)).toEqual([user.id]);
  });

  it("takes % and _ in the email prefix literally", async () => {
    const prefix = uniquePrefix("like");
    const underscore = await signup(`${prefix}_x@coffee.test`);
    await signup(`${prefix}yx@coffee.test`);
    const byUnderscore = await listBody(await list(`?email=${encodeURIComponent(`${prefix}_`)}`, adminToken));
    expect(byUnderscore.map((u) => u.id)).toEqual([underscore.id]);
    expect(await listBody(await list(`?email=${encodeURIComponent(`${prefix}%`)}`, adminToken))).toEqual([]);
    expect(await listBody(await list(`?email=${encodeURIComponent(`${prefix.slice(0, 6)}%${prefix.slice(7)}`)}`, adminToken))).toEqual([]);
  });

  it("filters by status and role, combined with the email prefix", async () => {
    const prefix = uniquePrefix("filter");
    const unverified = await signup(`${prefix}-u@coffee.test`);
    const verifiedEmail = `${prefix}-v@coffee.test`;
    const verified = await signup(verifiedEmail);
    expect(
      (await api("/auth/verify", json("POST", { email: verifiedEmail, code: await latestCode(verifiedEmail), password: PASSWORD }))).status,
    ).toBe(200);
    const promoted = await signup(`${prefix}-a@coffee.test`);
    expect((await patchUser(promoted.id, { role: "admin", status: "verified" }, adminToken)).status).toBe(200);

    const ids = async (query: string) => (await listBody(await list(`?email=${prefix}&${query}`, adminToken))).map((u) => u.id);
    expect(await ids("status=unverified")).toEqual([unverified.id]);
    expect(await ids("status=verified")).toEqual([promoted.id, verified.id]);
    expect(await ids("role=admin")).toEqual([promoted.id]);
    expect(await ids("role=user")).toEqual([verified.id, unverified.id]);
    expect(await ids("role=user&status=verified")).toEqual([verified.id]);
    expect(await ids("role=admin&status=unverified")).toEqual([]);
    const admins = await listBody(await list("?role=admin&limit=100", adminToken));
    for (const user of admins) expect(user.role).toBe("admin");
  });

  it("walks every page of a filtered set through the Link header, newest first, one round trip a page", async () => {
    const prefix = uniquePrefix("page");
    const created: PublicUser[] = [];
    for (let i = 0; i < 5; i++) created.push(await signup(`${prefix}-${i}@coffee.test`));
    const expectedIds = created.map((user) => user.id).reverse();

    const pages: number[][] = [];
    let next: string | undefined = `/users?email=${prefix}&limit=2`;
    while (next !== undefined && pages.length < 5) {
      const path: string = next;
      const { result: response, roundTrips } = await countRoundTrips((call) => list(path.slice("/users".length), adminToken, call));
      expect(roundTrips).toBe(1);
      pages.push((await listBody(response)).map((user) => user.id));
      next = nextLink(response);
      if (next !== undefined) {
        const query = new URL(next, BASE_URL).searchParams;
        expect(query.get("email")).toBe(prefix);
        expect(query.get("limit")).toBe("2");
        expect(query.get("cursor")).toEqual(expect.any(String));
      }
    }
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(expectedIds);
    expect(new Set(pages.flat()).size).toBe(5);
  });

  it("has no Link header when the page is exactly the rest of the set", async () => {
    const prefix = uniquePrefix("exact");
    for (let i = 0; i < 2; i++) await signup(`${prefix}-${i}@coffee.test`);
    const response = await list(`?email=${prefix}&limit=2`, adminToken);
    expect(await listBody(response)).toHaveLength(2);
    expect(response.headers.get("Link")).toBeNull();
  });

  it("pages 50 users by default and up to 100 when asked", async () => {
    const prefix = uniquePrefix("bulk");
    const db = getDb(inject("databaseUrl"));
    await db
      .insertInto("users")
      .values(
        Array.from({ length: 51 }, (_, i) => ({
          email: `${prefix}-${String(i).padStart(2, "0")}@coffee.test`,
          password_hash: "not-a-usable-hash",
          first_name: null,
          last_name: null,
          created_at: new Date(),
          updated_at: new Date(),
        })),
      )
      .execute();
    const first = await list(`?email=${prefix}`, adminToken);
    expect(await listBody(first)).toHaveLength(50);
    const next = nextLink(first);
    expect(next).toBeDefined();
    const second = await api(next ?? "", bearer(adminToken));
    expect(await listBody(second)).toHaveLength(1);
    expect(second.headers.get("Link")).toBeNull();
    const all = await list(`?email=${prefix}&limit=100`, adminToken);
    expect(await listBody(all)).toHaveLength(51);
    expect(all.headers.get("Link")).toBeNull();
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=x", "limit"],
    ["limit=1.5", "limit"],
    ["limit=-1", "limit"],
    ["status=deleted", "status"],
    ["role=root", "role"],
    ["email=", "email"],
  ])("is 422 validation_failed for ?%s", async (query, field) => {
    const problem = await expectProblem(await list(`?${query}`, adminToken), 422, "validation_failed");
    expect(problem.errors?.map((error) => error.field)).toContain(field);
  });

  it.each([
    ["garbage", "abc"],
    ["not base64", "!!!!"],
    ["another key", btoa("before:5")],
    ["id zero", cursorOf("0")],
    ["a negative id", cursorOf("-5")],
    ["a non-numeric id", cursorOf("1 or 1=1")],
    ["an id of 20 digits", cursorOf("12345678901234567890")],
    ["too long", "a".repeat(101)],
  ])("is 422 validation_failed naming the cursor for a forged cursor (%s)", async (_, cursor) => {
    const problem = await expectProblem(await list(`?cursor=${encodeURIComponent(cursor)}`, adminToken), 422, "validation_failed");
    expect(problem.errors?.map((error) => error.field)).toEqual(["cursor"]);
  });

  it("is 422 for a well-formed cursor whose id is beyond any user id (out of bigint range)", async () => {
    // 19 digits, larger than the largest bigint (9223372036854775807)
    const problem = await expectProblem(await list(`?cursor=${cursorOf("9999999999999999999")}`, adminToken), 422, "validation_failed");
    expect(problem.errors?.map((error) => error.field)).toEqual(["cursor"]);
  });
});

describe("PATCH /users/{id}", () => {
  it("lets a user change their own names in one round trip, trimmed, and clear them with null", async () => {
    const user = await seededUser("user");
    const { access_token } = await login(user);
    const { result: response, roundTrips } = await countRoundTrips((call) =>
      patchUser(user.id, { first_name: "  Ada ", last_name: "Lovelace" }, access_token, call),
    );
    expect(response.status).toBe(200);
    expectUser(await response.json(), { id: user.id, email: user.email, first_name: "Ada", last_name: "Lovelace", role: "user" });
    expect(roundTrips).toBe(1);
    expectUser(await (await me(access_token)).json(), { first_name: "Ada", last_name: "Lovelace" });

    const cleared = await patchUser(user.id, { last_name: null }, access_token);
    expect(cleared.status).toBe(200);
    expectUser(await cleared.json(), { first_name: "Ada", last_name: null });
    // a change of names alone does not end the session
    expectUser(await (await me(access_token)).json(), { first_name: "Ada", last_name: null });
  });

  it.each([
    ["an empty body", {}, "(root)"],
    ["an unknown field", { first_name: "Ada", password: "new password 123" }, "password"],
    ["a server-owned field", { id: 1 }, "id"],
    ["a server-owned timestamp", { created_at: "2020-01-01T00:00:00Z" }, "created_at"],
    ["an empty name", { first_name: "" }, "first_name"],
    ["a blank name", { last_name: "   " }, "last_name"],
    ["a name of 101 characters", { first_name: "x".repeat(101) }, "first_name"],
    ["a non-string name", { first_name: 5 }, "first_name"],
    ["a bad email", { email: "not-an-email" }, "email"],
    ["a null email", { email: null }, "email"],
    ["an unknown role", { role: "root" }, "role"],
    ["an unknown status", { status: "banned" }, "status"],
  ])("refuses %s with 422 validation_failed", async (_, body, field) => {
    const problem = await expectProblem(await patchUser(admin.id, body, adminToken), 422, "validation_failed");
    expect(problem.errors?.map((error) => error.field)).toContain(field);
  });

  it("accepts names of exactly 100 characters", async () => {
    const user = await seededUser("user");
    const response = await patchUser(user.id, { first_name: "x".repeat(100) }, adminToken);
    expect(response.status).toBe(200);
    expectUser(await response.json(), { first_name: "x".repeat(100) });
  });

  it("is 422 naming the field id for an id that is not a positive integer", async () => {
    const problem = await expectProblem(await patchUser("abc", { first_name: "X" }, adminToken), 422, "validation_failed");
    expect(problem.errors?.map((error) => error.field)).toEqual(["id"]);
  });

  it("is 403 forbidden for a user changing someone else, and changes nothing", async () => {
    const [attacker, victim] = await Promise.all([seededUser("user"), seededUser("user")]);
    const { access_token } = await login(attacker);
    await expectProblem(await patchUser(victim.id, { first_name: "Pwned" }, access_token), 403, "forbidden");
    await expectProblem(await patchUser(victim.id, { email: uniqueEmail("mallory") }, access_token), 403, "forbidden");
    await expectProblem(await patchUser(victim.id, { role: "user" }, access_token), 403, "forbidden");
    await expectProblem(await patchUser(admin.id, { role: "user" }, access_token), 403, "forbidden");
    // also for an id no one has: no way to probe which ids exist
    await expectProblem(await patchUser("999999999999999999", { first_name: "X" }, access_token), 403, "forbidden");
    expectAdminUser(await (await getUser(victim.id, adminToken)).json(), { email: victim.email, first_name: null });
    expectAdminUser(await (await getUser(admin.id, adminToken)).json(), { role: "admin" });
  });

  it("is 403 forbidden for a user setting their own role or status, and changes nothing", async () => {
    const user = await seededUser("user");
    const { access_token, refresh_token } = await login(user);
    await expectProblem(await patchUser(user.id, { role: "admin" }, access_token), 403, "forbidden");
    await expectProblem(await patchUser(user.id, { first_name: "Eve", role: "admin" }, access_token), 403, "forbidden");
    await expectProblem(await patchUser(user.id, { status: "verified" }, access_token), 403, "forbidden");
    await expectProblem(await patchUser(user.id, { role: "user" }, access_token), 403, "forbidden");
    expectUser(await (await me(access_token)).json(), { role: "user", first_name: null });
    // the refused attempts did not give them admin access, on this token or a refreshed one
    await expectProblem(await list("", access_token), 403, "forbidden");
    const refreshed = await refresh(refresh_token);
    expect(refreshed.status).toBe(200);
    await expectProblem(await list("", (await refreshed.json<{ access_token: string }>()).access_token), 403, "forbidden");
  });

  it("changes a user's own email only once the code mailed to the new address is verified", async () => {
    const user = await seededUser();
    const { access_token } = await login(user);
    const newEmail = uniqueEmail("moved");
    const response = await patchUser(user.id, { email: ` ${newEmail.toUpperCase()} `, current_password: user.password }, access_token);
    expect(response.status).toBe(200);
    expectUser(await response.json(), { id: user.id, email: user.email });
    expect(await mailTo(newEmail)).toHaveLength(1);
    const code = await latestCode(newEmail);
    // not yet changed
    expectUser(await (await me(access_token)).json(), { email: user.email });
    expect((await loginAs(newEmail)).status).toBe(401);

    const noticesBefore = (await mailTo(user.email)).length;
    const verify = await api("/auth/verify", json("POST", { email: newEmail, code, password: PASSWORD }));
    expect(verify.status).toBe(200);
    expectUser(await (await me(access_token)).json(), { id: user.id, email: newEmail });
    // the old address hears of it, so a hijacked session cannot move the account away unnoticed
    const toOldAddress = await mailTo(user.email);
    expect(toOldAddress).toHaveLength(noticesBefore + 1);
    expect(toOldAddress[0]?.subject).toMatch(/email address was changed/);
    expect(toOldAddress[0]?.text).toContain(newEmail);
    expect(toOldAddress[0]?.text).not.toContain(code);
    expect((await loginAs(newEmail)).status).toBe(200);
    await expectProblem(await loginAs(user.email), 401, "invalid_credentials");
    // the code is spent
    await expectProblem(await api("/auth/verify", json("POST", { email: newEmail, code, password: PASSWORD })), 400, "code_invalid");
  });

  it("does not change the email for a wrong code", async () => {
    const user = await seededUser("user");
    const { access_token } = await login(user);
    const newEmail = uniqueEmail("moved");
    expect((await patchUser(user.id, { email: newEmail, current_password: user.password }, access_token)).status).toBe(200);
    const code = await latestCode(newEmail);
    const wrong = code === "000000" ? "111111" : "000000";
    await expectProblem(await api("/auth/verify", json("POST", { email: newEmail, code: wrong, password: PASSWORD })), 400, "code_invalid");
    expectUser(await (await me(access_token)).json(), { email: user.email });
  });

  it("is 409 email_taken for a user taking an address already registered, whatever its case, mailing nothing", async () => {
    const [attacker, victim] = await Promise.all([seededUser("user"), seededUser()]);
    const { access_token } = await login(attacker);
    const mailsBefore = (await mailTo(victim.email)).length;
    const password = attacker.password;
    await expectProblem(
      await patchUser(attacker.id, { email: victim.email, current_password: password }, access_token),
      409,
      "email_taken",
    );
    await expectProblem(
      await patchUser(attacker.id, { email: victim.email.toUpperCase(), current_password: password }, access_token),
      409,
      "email_taken",
    );
    await expectProblem(await patchUser(attacker.id, { email: admin.email, current_password: password }, access_token), 409, "email_taken");
    expect(await mailTo(victim.email)).toHaveLength(mailsBefore);
    expectUser(await (await me(access_token)).json(), { email: attacker.email });
    expect((await loginAs(victim.email)).status).toBe(200);
  });

  it("applies nothing of a patch refused with 409 email_taken", async () => {
    const [user, other] = await Promise.all([seededUser("user"), seededUser("user")]);
    const { access_token } = await login(user);
    await expectProblem(
      await patchUser(user.id, { first_name: "Mallory", email: other.email, current_password: user.password }, access_token),
      409,
      "email_taken",
    );
    expectUser(await (await me(access_token)).json(), { email: user.email, first_name: null });
  });

  it("applies nothing of an admin's own patch refused with 409 email_taken, and keeps their session", async () => {
    const [self, other] = await Promise.all([seededUser("admin"), seededUser("user")]);
    const { access_token, refresh_token } = await login(self);
    await expectProblem(
      await patchUser(self.id, { role: "user", email: other.email, current_password: self.password }, access_token),
      409,
      "email_taken",
    );
    expectUser(await (await me(access_token)).json(), { email: self.email, role: "admin" });
    expect((await list(`?email=${encodeURIComponent(self.email)}`, access_token)).status).toBe(200);
    expect((await refresh(refresh_token)).status).toBe(200);
  });

  it("moves to an address that only has a signup nobody proved: the signup cannot block the move, and gives way when the code proves it", async () => {
    const user = await seededUser("user");
    const { access_token } = await login(user);
    const squatted = uniqueEmail("squatted");
    const squatter = await signup(squatted);
    // the answer does not tell the mover that someone signed up for the address
    const started = await patchUser(user.id, { email: squatted, current_password: user.password }, access_token);
    expect(started.status).toBe(200);
    // the squatter signs up again while the code is on its way, as every 48 hours
    expect((await api("/auth/signup", json("POST", { email: squatted, password: "the squatter's passphrase" }))).status).toBe(201);
    const changeCode = await latestChangeCode(squatted);
    expect((await api("/auth/verify", json("POST", { email: squatted, code: changeCode }))).status).toBe(200);
    expectUser(await (await me(access_token)).json(), { id: user.id, email: squatted });
    // the pending account is gone with its password: nothing another person typed survives the proof
    await expectProblem(await getUser(squatter.id, adminToken), 404, "user_not_found");
    await expectProblem(await loginAs(squatted, "the squatter's passphrase"), 401, "invalid_credentials");
    expect((await loginAs(squatted, user.password)).status).toBe(200);
  });

  it("is 409 email_taken at verification when another account proved the new address after the change was asked", async () => {
    const user = await seededUser("user");
    const { access_token } = await login(user);
    const newEmail = uniqueEmail("raced");
    expect((await patchUser(user.id, { email: newEmail, current_password: user.password }, access_token)).status).toBe(200);
    const code = await latestCode(newEmail);
    // someone else registers the address, and proves it, while the code is on its way
    await signup(newEmail);
    const signupCode = await latestCode(newEmail);
    expect((await api("/auth/verify", json("POST", { email: newEmail, code: signupCode, password: PASSWORD }))).status).toBe(200);
    await expectProblem(await api("/auth/verify", json("POST", { email: newEmail, code })), 409, "email_taken");
    expectUser(await (await me(access_token)).json(), { email: user.email });
  });

  it("lets an admin set another user's email directly, without a code, and tells the old address", async () => {
    const user = await seededUser("user");
    const newEmail = uniqueEmail("set");
    const { result: response, roundTrips } = await countRoundTrips((call) =>
      patchUser(user.id, { email: newEmail.toUpperCase() }, adminToken, call),
    );
    expect(response.status).toBe(200);
    expectUser(await response.json(), { id: user.id, email: newEmail });
    // one for the change and its notice (one transaction), one after the response marking the notice sent
    expect(roundTrips).toBe(2);
    expect(await mailTo(newEmail)).toEqual([]);
    const [notice] = await mailTo(user.email);
    expect(notice?.subject).toMatch(/email address was changed/);
    expect(notice?.text).toContain(newEmail);
    expect((await loginAs(newEmail)).status).toBe(200);
    await expectProblem(await loginAs(user.email), 401, "invalid_credentials");
  });

  it("is 409 email_taken for an admin setting an address already registered", async () => {
    const [user, other] = await Promise.all([seededUser("user"), seededUser("user")]);
    await expectProblem(await patchUser(user.id, { email: other.email.toUpperCase() }, adminToken), 409, "email_taken");
    expectAdminUser(await (await getUser(user.id, adminToken)).json(), { email: user.email });
  });

  it("is 404 user_not_found for an admin patching an id no user has", async () => {
    await expectProblem(await patchUser("999999999999999999", { first_name: "X" }, adminToken), 404, "user_not_found");
  });

  it("lets an admin change names without ending the user's session", async () => {
    const user = await seededUser("user");
    const { access_token, refresh_token } = await login(user);
    const response = await patchUser(user.id, { first_name: "Grace", last_name: "Hopper" }, adminToken);
    expect(response.status).toBe(200);
    expectUser(await response.json(), { first_name: "Grace", last_name: "Hopper", role: "user", status: "verified" });
    expect((await me(access_token)).status).toBe(200);
    expect((await refresh(refresh_token)).status).toBe(200);
  });

  it("promotes a user in one round trip and ends their sessions at once", async () => {
    const user = await seededUser("user");
    const first = await login(user);
    const second = await login(user);
    const { result: response, roundTrips } = await countRoundTrips((call) => patchUser(user.id, { role: "admin" }, adminToken, call));
    expect(response.status).toBe(200);
    expectUser(await response.json(), { id: user.id, role: "admin", status: "verified" });
    expect(roundTrips).toBe(1);
    for (const tokens of [first, second]) {
      const stale = await me(tokens.access_token);
      await expectProblem(stale, 401, "invalid_token");
      expect(stale.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
      await expectProblem(await refresh(tokens.refresh_token), 401, "invalid_token");
    }
    // a fresh login carries the new role
    const fresh = await login(user);
    expect((await list(`?email=${encodeURIComponent(user.email)}`, fresh.access_token)).status).toBe(200);
  });

  it("ends the sessions of a user an admin marks unverified, who then cannot log in", async () => {
    const user = await seededUser("user");
    const { access_token, refresh_token } = await login(user);
    const response = await patchUser(user.id, { status: "unverified" }, adminToken);
    expect(response.status).toBe(200);
    expectUser(await response.json(), { id: user.id, status: "unverified", role: "user" });
    await expectProblem(await me(access_token), 401, "invalid_token");
    await expectProblem(await refresh(refresh_token), 401, "invalid_token");
    await expectProblem(await loginAs(user.email), 403, "email_not_verified");
  });

  it("takes admin access from a demoted admin at once", async () => {
    const other = await seededUser("admin");
    const { access_token, refresh_token } = await login(other);
    expect((await list(`?email=${encodeURIComponent(other.email)}`, access_token)).status).toBe(200);
    const response = await patchUser(other.id, { role: "user" }, adminToken);
    expect(response.status).toBe(200);
    expectUser(await response.json(), { id: other.id, role: "user" });
    await expectProblem(await list("", access_token), 401, "invalid_token");
    await expectProblem(await getUser(admin.id, access_token), 401, "invalid_token");
    await expectProblem(await deleteUser(admin.id, access_token), 401, "invalid_token");
    await expectProblem(await patchUser(admin.id, { role: "user" }, access_token), 401, "invalid_token");
    await expectProblem(await refresh(refresh_token), 401, "invalid_token");
    // logged in again, they are an ordinary user
    const fresh = await login(other);
    await expectProblem(await list("", fresh.access_token), 403, "forbidden");
    expectAdminUser(await (await getUser(admin.id, adminToken)).json(), { role: "admin" });
  });
});

describe("DELETE /users/{id}", () => {
  it("deletes in one round trip; the user's tokens stop working at once", async () => {
    const user = await seededUser("user");
    const { access_token, refresh_token } = await login(user);
    const { result: response, roundTrips } = await countRoundTrips((call) => deleteUser(user.id, adminToken, call));
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    expect(roundTrips).toBe(1);
    await expectProblem(await me(access_token), 401, "invalid_token");
    await expectProblem(await refresh(refresh_token), 401, "invalid_token");
    await expectProblem(await getUser(user.id, adminToken), 404, "user_not_found");
    await expectProblem(await loginAs(user.email), 401, "invalid_credentials");
    expect(await listBody(await list(`?email=${encodeURIComponent(user.email)}`, adminToken))).toEqual([]);
    await expectProblem(await deleteUser(user.id, adminToken), 404, "user_not_found");
  });

  it("is 404 user_not_found for an id no user has", async () => {
    await expectProblem(await deleteUser("999999999999999999", adminToken), 404, "user_not_found");
  });

  it("is 422 naming the field id for an id that is not a positive integer", async () => {
    const problem = await expectProblem(await deleteUser("0", adminToken), 422, "validation_failed");
    expect(problem.errors?.map((error) => error.field)).toEqual(["id"]);
  });

  it("is 409 cannot_delete_self for an admin deleting themself, who stays", async () => {
    const self = await seededUser("admin");
    const { access_token } = await login(self);
    await expectProblem(await deleteUser(self.id, access_token), 409, "cannot_delete_self");
    expect((await me(access_token)).status).toBe(200);
    expectAdminUser(await (await getUser(self.id, adminToken)).json(), { id: self.id, role: "admin" });
  });
});
