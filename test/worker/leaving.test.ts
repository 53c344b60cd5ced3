// Leaving the shop: an owner deletes their account (a grace period, a single-use link that cancels it) and takes
// their data along (an export). The erasure at the end of the grace period runs in the cron: cron.test.ts.
import { describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import type { DataExport } from "../../src/schemas/leaving.ts";
import type { PublicUser } from "../../src/schemas/user.ts";
import { base64url } from "./authenticator.ts";
import { challenge, codeAt, completeWith, seededFactor } from "./factors.ts";
import { seededPasskey } from "./passkeys.ts";
import {
  api,
  bearer,
  type Call,
  client,
  countRoundTrips,
  deletionTokenMailedTo,
  expectProblem,
  json,
  login,
  mailTo,
  manualClock,
  seededUser,
  type TestUser,
  type Tokens,
} from "./helpers.ts";

const db = getDb(inject("databaseUrl"));
const DAY = 24 * 60 * 60;
const DEVICE = { "User-Agent": "CoffeeApp/3.1 (iPhone)", "CF-Connecting-IP": "203.0.113.77" };

const deleteMe = (call: Call, tokens: Tokens) => call("/users/me", bearer(tokens.access_token, { method: "DELETE" }));
const cancel = (call: Call, token: string) => call("/auth/deletion/cancel", json("POST", { token }));
const signIn = (call: Call, user: TestUser) => call("/auth/login", json("POST", { email: user.email, password: user.password }));

describe("deleting one's account", () => {
  it("ends every session and refuses sign-in until the grace period ends; the mailed token cancels it once; deleting again works", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const [tokens, other] = [await login(user, call), await login(user, call)];

    const asked = await countRoundTrips((counted) => deleteMe(counted, tokens), { clock });
    // 1 before the answer (the account, its sessions, codes, mail and event in one statement) + 1 after it (the mail marked sent)
    expect(asked.roundTrips).toBe(2);
    expect(asked.result.status).toBe(202);
    const pending: PublicUser = await asked.result.json();
    const dueAt = new Date(clock().getTime() + 7 * DAY * 1000).toISOString();
    expect(pending).toMatchObject({ id: user.id, status: "pending_deletion", deletion_due_at: dueAt });

    for (const session of [tokens, other]) {
      await expectProblem(await call("/users/me", bearer(session.access_token)), 401, "invalid_token");
      await expectProblem(await call("/auth/refresh", json("POST", { refresh_token: session.refresh_token })), 401, "invalid_token");
    }
    const refused = await expectProblem(await signIn(call, user), 403, "account_pending_deletion");
    expect(refused).toMatchObject({ deletion_due_at: dueAt });
    expect(refused.detail).toContain(dueAt);
    // the state shows only to the right password
    await expectProblem(
      await call("/auth/login", json("POST", { email: user.email, password: "not the password" })),
      401,
      "invalid_credentials",
    );

    const token = await deletionTokenMailedTo(user.email);
    const cancelled = await countRoundTrips((counted) => cancel(counted, token), { clock });
    // 1, and the notice's mark after the answer
    expect(cancelled.roundTrips).toBe(2);
    expect(cancelled.result.status).toBe(200);
    // it signs nobody in
    expect(Object.keys(await cancelled.result.json())).toEqual(["message"]);
    await expectProblem(await cancel(call, token), 400, "deletion_token_invalid");

    const again = await login(user, call);
    expect(await (await call("/users/me", bearer(again.access_token))).json()).toMatchObject({ status: "verified", deletion_due_at: null });
    expect((await deleteMe(call, again)).status).toBe(202);
    // a new deletion, a new token: the spent one stays spent
    await expectProblem(await cancel(call, token), 400, "deletion_token_invalid");
    const types = await db
      .selectFrom("auth_events")
      .select("type")
      .where("user_id", "=", String(user.id))
      .where("type", "in", ["deletion_requested", "deletion_cancelled"])
      .orderBy("id")
      .execute();
    expect(types.map((row) => row.type)).toEqual(["deletion_requested", "deletion_cancelled", "deletion_requested"]);
  });

  it("needs a recent sign-in: an access token alone, ten minutes on, cannot ask for it", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const tokens = await login(user, call);
    clock.advance(10 * 60 + 1);
    await expectProblem(await deleteMe(call, tokens), 401, "reauthentication_required");
    expect((await signIn(call, user)).status).toBe(200);
  });

  it("a token is refused once the grace period is over, and unknown ones alike", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    expect((await deleteMe(call, await login(user, call))).status).toBe(202);
    const token = await deletionTokenMailedTo(user.email);
    await expectProblem(await cancel(call, "an-unknown-token"), 400, "deletion_token_invalid");
    clock.advance(7 * DAY);
    await expectProblem(await cancel(call, token), 400, "deletion_token_invalid");
    await expectProblem(await signIn(call, user), 403, "account_pending_deletion");
  });

  it("mails a link to the app's cancel page with the token in its fragment, where one is set", async () => {
    const page = "https://app.coffee.test/account/keep";
    const call = client({ env: { DELETION_CANCEL_URL: page } });
    const user = await seededUser();
    expect((await deleteMe(call, await login(user, call))).status).toBe(202);
    const [mail] = await mailTo(user.email);
    const link = mail && new RegExp(`${page}#token=([\\w-]{43})`).exec(mail.html);
    expect(link?.[1]).toEqual(expect.any(String));
    expect(mail?.text).toContain(`${page}#token=${link?.[1]}`);
    expect((await cancel(call, link?.[1] ?? "")).status).toBe(200);
  });

  it("shows admins that an account is pending deletion and when its data goes; setting its status calls the deletion off", async () => {
    const user = await seededUser();
    const admin = await seededUser("admin");
    const adminToken = (await login(admin)).access_token;
    const deleted: PublicUser = await (await deleteMe(api, await login(user))).json();
    const listed = await api(`/users?status=pending_deletion&email=${encodeURIComponent(user.email)}`, bearer(adminToken));
    expect(await listed.json()).toEqual([{ ...deleted, sign_in: expect.objectContaining({}) }]);
    await expectProblem(
      await api(`/users/${user.id}`, bearer(adminToken, json("PATCH", { status: "pending_deletion" }))),
      422,
      "validation_failed",
    );
    const restored = await api(`/users/${user.id}`, bearer(adminToken, json("PATCH", { status: "verified" })));
    expect(await restored.json()).toMatchObject({ status: "verified", deletion_due_at: null });
    expect((await signIn(api, user)).status).toBe(200);
    await expectProblem(await cancel(api, await deletionTokenMailedTo(user.email)), 400, "deletion_token_invalid");
  });
});

/** A user signed in from a device, with a second factor on: sessions, events and a factor to export. */
async function userWithHistory(call: Call, clock: ReturnType<typeof manualClock>) {
  const user = await seededUser();
  const factor = await seededFactor(user, clock());
  const signInWithFactor = async () => {
    const started = await challenge(call, user);
    const answer = await completeWith(call, started.token, { code: await codeAt(factor.secret, clock) });
    clock.advance(30);
    return answer.json<Tokens>();
  };
  const first = await signInWithFactor();
  const tokens = await call("/auth/refresh", json("POST", { refresh_token: first.refresh_token }, DEVICE)).then((r) => r.json<Tokens>());
  const second = await signInWithFactor();
  return { user, factor, tokens: [first, tokens, second], current: second };
}

describe("exporting one's data", () => {
  it("answers every session, event, factor, passkey and device as facts, and no secret; mails the owner; one export per interval", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, factor, tokens, current } = await userWithHistory(call, clock);
    const { device, passkey } = await seededPasskey(user);
    const deviceTokens = tokens.flatMap((pair) =>
      "device_token" in pair && typeof pair.device_token === "string" ? [pair.device_token] : [],
    );
    expect(deviceTokens).not.toEqual([]);
    await call("/auth/login", json("POST", { email: user.email, password: "a wrong guess" }, DEVICE));

    const exported = await countRoundTrips((counted) => counted("/users/me/export", bearer(current.access_token)), { clock });
    // 1 before the answer (read, event and notice in one statement), and the notice's mark after it
    expect(exported.roundTrips).toBeLessThanOrEqual(2);
    expect(exported.result.status).toBe(200);
    const document: DataExport = await exported.result.json();
    expect(document.account).toMatchObject({ id: user.id, email: user.email, status: "verified", deletion_due_at: null });
    expect(document.sessions).toHaveLength(2);
    expect(document.sessions[0]).toMatchObject({ amr: ["pwd", "otp"], user_agent: expect.any(String) });
    expect(document.sessions.some((session) => session.last_refreshed_at !== null)).toBe(true);
    expect(document.second_factor).toEqual({ method: "totp", on_since: expect.any(String), recovery_codes_left: 10 });
    expect(document.passkeys).toEqual([passkey]);
    // both sign-ins came without a device token: two devices
    const aDevice = { first_sign_in_at: expect.any(String), last_sign_in_at: expect.any(String), user_agent: expect.any(String) };
    expect(document.devices).toEqual([expect.objectContaining(aDevice), expect.objectContaining(aDevice)]);
    expect(document.events.map((event) => event.type)).toEqual(expect.arrayContaining(["login_failed", "login_succeeded"]));
    expect(document.events.find((event) => event.type === "login_failed")).toMatchObject({
      client_address: DEVICE["CF-Connecting-IP"],
      user_agent: DEVICE["User-Agent"],
    });
    const text = JSON.stringify(document);
    const publicKey = base64url(device.credentials[0]?.publicKey ?? new Uint8Array());
    const secrets = [
      user.password,
      ...factor.recoveryCodes,
      ...tokens.flatMap((pair) => [pair.access_token, pair.refresh_token]),
      ...deviceTokens,
      publicKey,
    ];
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/hash|secret|sealed|\$pbkdf2/);

    const [notice] = await mailTo(user.email);
    expect(notice?.subject).toContain("a copy of your account's data was made");
    const again = await call("/users/me/export", bearer(current.access_token));
    await expectProblem(again, 429, "too_many_requests");
    expect(Number(again.headers.get("Retry-After"))).toBeGreaterThan(14 * 60);
  });

  it("for an admin, of another user: step-up, audited, the owner told; not for a user", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const [user, admin] = [await seededUser(), await seededUser("admin")];
    const userToken = (await login(user, call)).access_token;
    const adminToken = (await login(admin, call)).access_token;
    await expectProblem(await call(`/users/${admin.id}/export`, bearer(userToken)), 403, "forbidden");
    await expectProblem(await call("/users/999999999999/export", bearer(adminToken)), 404, "user_not_found");
    const exported = await call(`/users/${user.id}/export`, bearer(adminToken));
    expect(exported.status).toBe(200);
    expect(await exported.json<DataExport>()).toMatchObject({ account: { id: user.id }, sessions: [{ user_agent: expect.any(String) }] });
    const recorded = await db
      .selectFrom("auth_events")
      .select(["actor_id", "details"])
      .where("user_id", "=", String(user.id))
      .where("type", "=", "data_exported")
      .execute();
    expect(recorded).toEqual([{ actor_id: String(admin.id), details: { by: "admin" } }]);
    expect((await mailTo(user.email))[0]?.text).toContain("An administrator");
    // the owner's own export counts against the same interval: one copy leaves per 15 minutes, whoever asks
    await expectProblem(await call("/users/me/export", bearer(userToken)), 429, "too_many_requests");
    clock.advance(10 * 60 + 1);
    await expectProblem(await call(`/users/${user.id}/export`, bearer(adminToken)), 401, "reauthentication_required");
    clock.advance(5 * 60);
    expect((await call(`/users/${user.id}/export`, bearer((await login(admin, call)).access_token))).status).toBe(200);
  });
});
