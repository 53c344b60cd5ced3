// Known devices through the HTTP API: the device token a sign-in answers gives that device a run of wrong passwords
// of its own, so an attacker's failures from elsewhere never slow or lock the owner's devices; a sign-in from a new
// device mails the owner a link that signs it out; a replayed (rotated-away) token is worth nothing.
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { getConfig } from "../../src/config.ts";
import { getDb } from "../../src/db/client.ts";
import { createLogger } from "../../src/log.ts";
import { POLICY } from "../../src/policy.ts";
import type { SessionView } from "../../src/schemas/sessions.ts";
import type { SignedIn } from "../../src/schemas/tokens.ts";
import { sendDueDeviceNotices } from "../../src/services/devices.ts";
import {
  bearer,
  type Call,
  client,
  countRoundTrips,
  expectProblem,
  json,
  mailTo,
  latestCode,
  manualClock,
  seededUser,
  type TestUser,
} from "./helpers.ts";

const db = getDb(inject("databaseUrl"));
const WRONG = "not the password at all";
const HOUR = 3600;

function signIn(call: Call, user: TestUser, options: { password?: string; device?: string | undefined; network?: string } = {}) {
  const body = { email: user.email, password: options.password ?? user.password, device_token: options.device };
  const headers: Record<string, string> = options.network ? { "CF-Connecting-IP": options.network } : {};
  return call(
    "/auth/login",
    json("POST", body, { "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1", ...headers }),
  );
}

async function signedIn(response: Response): Promise<SignedIn> {
  expect(response.status).toBe(200);
  return response.json<SignedIn>();
}

/** A user who signed in once (their first device: no notice), with that device's token. */
async function withKnownDevice() {
  const clock = manualClock();
  const call = client({ clock });
  const user = await seededUser();
  const first = await signedIn(await signIn(call, user));
  return { clock, call, user, first };
}

async function runs(user: TestUser) {
  const account = await db.selectFrom("users").select("login_failures").where("id", "=", String(user.id)).executeTakeFirstOrThrow();
  const devices = await db.selectFrom("devices").select(["id", "login_failures"]).where("user_id", "=", String(user.id)).execute();
  return { account: account.login_failures, devices: devices.map((device) => device.login_failures) };
}

function newDeviceNotices<T extends { subject: string }>(mails: T[]): T[] {
  return mails.filter((mail) => /new sign-in/.test(mail.subject));
}

/** The token of the newest "this wasn't me" link mailed to `address`. */
async function reportToken(address: string): Promise<string> {
  const [notice] = newDeviceNotices(await mailTo(address));
  const token = /\/report#([\w-]+)/.exec(notice?.text ?? "")?.[1];
  if (!token) throw new Error(`no new-device notice was mailed to ${address}`);
  return token;
}

describe("a device proof", () => {
  it("keeps the owner signing in from their device while an attacker's failures lock the account everywhere else", async () => {
    const { clock, call, user, first } = await withKnownDevice();
    // an attacker's wrong passwords from many networks, each past the wait the last one set, up to the lock
    await db
      .updateTable("users")
      .set({ login_failures: POLICY.passwordRun.lockAt - 5 })
      .where("id", "=", String(user.id))
      .execute();
    for (let attempt = 0; attempt < 5; attempt++) {
      clock.advance(HOUR);
      await expectProblem(await signIn(call, user, { password: WRONG, network: `198.51.100.${attempt + 1}` }), 401, "invalid_credentials");
    }
    await expectProblem(await signIn(call, user), 403, "account_locked");
    // the owner's device meets a run of its own: the right password is let in, and the device's token rotates
    const owner = await signedIn(await signIn(call, user, { device: first.device_token }));
    expect(owner.device_token).not.toBe(first.device_token);
    expect((await call("/users/me", bearer(owner.access_token))).status).toBe(200);
    expect(await runs(user)).toEqual({ account: POLICY.passwordRun.lockAt, devices: [0] });
  });

  it("gives its own device a run of its own: wrong passwords there never touch the account's", async () => {
    const { call, user, first } = await withKnownDevice();
    for (let attempt = 0; attempt < POLICY.passwordRun.free + 1; attempt++) {
      await expectProblem(await signIn(call, user, { password: WRONG, device: first.device_token }), 401, "invalid_credentials");
    }
    await expectProblem(await signIn(call, user, { device: first.device_token }), 429, "too_many_requests");
    // the same account from elsewhere is not slowed by the device's run
    expect((await signIn(call, user)).status).toBe(200);
    expect((await runs(user)).account).toBe(0);
  });

  it("of another account is ignored: the try meets this account's run", async () => {
    const { call, user } = await withKnownDevice();
    const other = await withKnownDevice();
    await expectProblem(await signIn(call, user, { password: WRONG, device: other.first.device_token }), 401, "invalid_credentials");
    expect(await runs(user)).toEqual({ account: 1, devices: [0] });
    expect(await runs(other.user)).toEqual({ account: 0, devices: [0] });
  });

  it("replayed after it rotated away is ignored and recorded, and the device it belonged to is forgotten", async () => {
    const { call, user, first } = await withKnownDevice();
    const second = await signedIn(await signIn(call, user, { device: first.device_token }));
    await expectProblem(await signIn(call, user, { password: WRONG, device: first.device_token }), 401, "invalid_credentials");
    expect(await runs(user)).toEqual({ account: 1, devices: [] });
    const events = await db.selectFrom("auth_events").select("type").where("user_id", "=", String(user.id)).execute();
    expect(events.map((event) => event.type)).toContain("device_replayed");
    // whoever held the rotated-to token holds nothing known either: its next sign-in is a new device's
    const again = await signedIn(await signIn(call, user, { device: second.device_token }));
    const sessions = await (await call("/auth/sessions", bearer(again.access_token))).json<SessionView[]>();
    expect(sessions.find((session) => session.current)?.device?.known).toBe(false);
  });

  it("is how re-authentication meets a run too: the session's device's, never the account's", async () => {
    const { call, user, first } = await withKnownDevice();
    for (let attempt = 0; attempt < 3; attempt++) {
      await expectProblem(
        await call("/auth/reauthenticate", bearer(first.access_token, json("POST", { password: WRONG }))),
        401,
        "invalid_credentials",
      );
    }
    expect(await runs(user)).toEqual({ account: 0, devices: [3] });
  });

  it("costs a login no round trip: still two, on either path", async () => {
    const { clock, user, first } = await withKnownDevice();
    const known = await countRoundTrips((counted) => signIn(counted, user, { device: first.device_token }), { clock });
    expect(known.result.status).toBe(200);
    const fresh = await countRoundTrips((counted) => signIn(counted, user), { clock });
    expect(fresh.result.status).toBe(200);
    // the new device's notice is sent after the answer, and marked sent: one more request, not a wait
    expect({ known: known.roundTrips, fresh: fresh.roundTrips }).toEqual({ known: 2, fresh: 3 });
  });

  it("ends with signing out everywhere and with a password reset", async () => {
    const { call, user, first } = await withKnownDevice();
    expect((await call("/auth/logout/all", bearer(first.access_token, { method: "POST" }))).status).toBe(204);
    expect(await runs(user)).toEqual({ account: 0, devices: [] });
    const other = await withKnownDevice();
    await call("/auth/password/forgot", json("POST", { email: other.user.email }));
    const body = { email: other.user.email, code: await latestCode(other.user.email), new_password: "a reset passphrase" };
    expect((await call("/auth/password/reset", json("POST", body))).status).toBe(200);
    expect(await runs(other.user)).toEqual({ account: 0, devices: [] });
  });
});

describe("a sign-in from a new device", () => {
  it("is mailed to the owner, with a link that signs exactly that device out, once", async () => {
    const { clock, call, user, first } = await withKnownDevice();
    expect(newDeviceNotices(await mailTo(user.email))).toEqual([]);
    const stranger = await signedIn(await signIn(call, user, { network: "203.0.113.77" }));
    const [notice] = newDeviceNotices(await mailTo(user.email));
    expect(notice?.subject).toBe("Coffee Shop: a new sign-in to your account");
    expect(notice?.text).toContain("Safari on iPhone, from 203.0.113.77");
    const token = await reportToken(user.email);
    const report = (through: Call = call) => through("/auth/sessions/report", json("POST", { token }));
    // twenty wrong links at once: each judged and refused, and the right one still works (a link's token has 256
    // bits: no count of wrong ones is needed to keep it from being guessed)
    const wrong = await Promise.all(
      Array.from({ length: 20 }, () => call("/auth/sessions/report", json("POST", { token: `${token.slice(0, -4)}AAAA` }))),
    );
    expect(wrong.map((answer) => answer.status)).toEqual(Array(20).fill(400));
    const { result: reported, roundTrips } = await countRoundTrips((counted) => report(counted), { clock });
    expect(reported.status).toBe(200);
    expect(roundTrips).toBe(1);
    expect((await reported.json<{ message: string }>()).message).toMatch(/new one with “Forgot password”/);
    await expectProblem(await call("/users/me", bearer(stranger.access_token)), 401, "invalid_token");
    await expectProblem(await call("/auth/refresh", json("POST", { refresh_token: stranger.refresh_token })), 401, "invalid_token");
    // the owner's own device goes on
    expect((await call("/users/me", bearer(first.access_token))).status).toBe(200);
    await expectProblem(await report(), 400, "link_invalid");
  });

  it("is not mailed for a known device, nor for an account's first", async () => {
    const { call, user, first } = await withKnownDevice();
    await signedIn(await signIn(call, user, { device: first.device_token }));
    expect(newDeviceNotices(await mailTo(user.email))).toEqual([]);
  });

  it("comes one message an hour: a burst waits, then goes as one list whose links each sign one device out", async () => {
    const { clock, call, user } = await withKnownDevice();
    await signedIn(await signIn(call, user, { network: "203.0.113.1" }));
    const second = await signedIn(await signIn(call, user, { network: "203.0.113.2" }));
    // the list goes in the order of sign-in, which a fixed clock would leave a tie
    clock.advance(1);
    const third = await signedIn(await signIn(call, user, { network: "203.0.113.3" }));
    expect(newDeviceNotices(await mailTo(user.email))).toHaveLength(1);
    const config = getConfig({ ...env });
    const log = createLogger({ test: "device notices" });
    // within the hour nothing more goes; after it, one list of the two that waited
    expect(await sendDueDeviceNotices(db, config, clock(), log, 50)).toBe(0);
    clock.advance(HOUR + 1);
    await sendDueDeviceNotices(db, config, clock(), log, 50);
    const notices = newDeviceNotices(await mailTo(user.email));
    expect(notices).toHaveLength(2);
    expect(notices[0]?.subject).toBe("Coffee Shop: new sign-ins to your account");
    expect(notices[0]?.text).toMatch(/203\.0\.113\.2[\s\S]*203\.0\.113\.3/);
    const token = await reportToken(user.email);
    expect((await call("/auth/sessions/report", json("POST", { token }))).status).toBe(200);
    // the first link of the list is the second sign-in's (an hour on, their access tokens have expired: the sessions tell)
    const refresh = (pair: SignedIn) => call("/auth/refresh", json("POST", { refresh_token: pair.refresh_token }));
    await expectProblem(await refresh(second), 401, "invalid_token");
    expect((await refresh(third)).status).toBe(200);
  });

  it("shows in the session list, and one request signs a device out", async () => {
    const { call, user, first } = await withKnownDevice();
    const again = await signedIn(await signIn(call, user, { device: first.device_token }));
    const sessions = await (await call("/auth/sessions", bearer(again.access_token))).json<SessionView[]>();
    const current = sessions.find((session) => session.current);
    const earlier = sessions.find((session) => !session.current);
    expect({ current: current?.device?.known, earlier: earlier?.device?.known }).toEqual({ current: true, earlier: false });
    const deviceId = current?.device?.id ?? "";
    expect(earlier?.device?.id).toBe(deviceId);
    const forgotten = await countRoundTrips((counted) =>
      counted(`/auth/devices/${deviceId}`, bearer(again.access_token, { method: "DELETE" })),
    );
    expect(forgotten.result.status).toBe(204);
    expect(forgotten.roundTrips).toBe(1);
    await expectProblem(await call("/users/me", bearer(first.access_token)), 401, "invalid_token");
    await expectProblem(await call("/users/me", bearer(again.access_token)), 401, "invalid_token");
  });
});

describe("an admin signing a device of a user out", () => {
  it("ends that device's sessions and forgets it, the user's other device going on; audited, after a recent sign-in", async () => {
    const { clock, call, user, first } = await withKnownDevice();
    const other = await signedIn(await signIn(call, user, { network: "203.0.113.44" }));
    const admin = await seededUser("admin");
    const adminToken = (await signedIn(await signIn(call, admin))).access_token;
    // the first device, as its own session list names it (both sign-ins share the fixed clock's moment)
    const sessions = await (await call("/auth/sessions", bearer(first.access_token))).json<SessionView[]>();
    const device = sessions.find((session) => session.current)?.device;
    const forget = (token: string, through: Call = call) =>
      through(`/users/${user.id}/devices/${device?.id}`, bearer(token, { method: "DELETE" }));
    await expectProblem(await forget(other.access_token), 403, "forbidden");
    await expectProblem(
      await call(`/users/${admin.id}/devices/${device?.id}`, bearer(adminToken, { method: "DELETE" })),
      404,
      "device_not_found",
    );
    const { result, roundTrips } = await countRoundTrips((counted) => forget(adminToken, counted), { clock });
    expect(result.status).toBe(204);
    expect(roundTrips).toBe(1);
    await expectProblem(await call("/users/me", bearer(first.access_token)), 401, "invalid_token");
    expect((await call("/users/me", bearer(other.access_token))).status).toBe(200);
    const events = await db
      .selectFrom("auth_events")
      .select(["actor_id", "details"])
      .where("user_id", "=", String(user.id))
      .where("type", "=", "device_forgotten")
      .execute();
    expect(events).toEqual([{ actor_id: String(admin.id), details: { device_id: device?.id } }]);
    // forgotten: the device is unknown now
    await expectProblem(await forget(adminToken), 404, "device_not_found");
    const [remaining] = await db.selectFrom("devices").select("id").where("user_id", "=", String(user.id)).execute();
    const forgetRemaining = () => call(`/users/${user.id}/devices/${remaining?.id}`, bearer(adminToken, { method: "DELETE" }));
    clock.advance(11 * 60);
    await expectProblem(await forgetRemaining(), 401, "reauthentication_required");
    // an admin no longer, as the database has it, though their token still says so: the statement refuses
    clock.advance(-11 * 60);
    await db.updateTable("users").set({ role: "user" }).where("id", "=", String(admin.id)).execute();
    await expectProblem(await forgetRemaining(), 403, "forbidden");
    expect((await call("/users/me", bearer(other.access_token))).status).toBe(200);
  });
});

describe("sign-ins at once on both paths", () => {
  it("meet each run's limits exactly: twenty wrong from the device and twenty from elsewhere, five judged on each", async () => {
    const { call, user, first } = await withKnownDevice();
    const fire = (device: string | undefined) =>
      Array.from({ length: 20 }, () => signIn(call, user, { password: WRONG, device }).then((response) => response.status));
    const statuses = await Promise.all([...fire(first.device_token), ...fire(undefined)]);
    const judged = POLICY.passwordRun.free + 1;
    expect(statuses.filter((status) => status === 401)).toHaveLength(2 * judged);
    expect(statuses.filter((status) => status === 429)).toHaveLength(40 - 2 * judged);
    expect(await runs(user)).toEqual({ account: judged, devices: [judged] });
  });
});
