// Passkeys (WebAuthn) through the API with a software authenticator (keys made here with WebCrypto, CBOR encoded
// here): adding one, signing in with it on its own and after an address is typed, what it counts as, step-up, the
// owner's and an admin's management, and everything an attacker sends, each refused with a problem, never a 500.
import { describe, expect, inject, it } from "vitest";
import { getDb } from "../../src/db/client.ts";
import { renewAuthentication } from "../../src/db/mfa-challenges.ts";
import { usePasskey } from "../../src/db/passkeys.ts";
import type { AuthEventType } from "../../src/schemas/events.ts";
import type { PasskeyView } from "../../src/schemas/passkeys.ts";
import type { SignedIn } from "../../src/schemas/tokens.ts";
import type { Attestation, Bend, SoftwareAuthenticator } from "./authenticator.ts";
import { challenge, claimsOf, codeAt, completeWith, seededFactor } from "./factors.ts";
import {
  api,
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
import {
  addPasskey,
  authenticator,
  passkeySignIn,
  seededPasskey,
  reauthenticationOptions,
  registrationOptions,
  signedInWithPasskey,
  signInOptions,
} from "./passkeys.ts";

const db = getDb(inject("databaseUrl"));
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** A user with a passkey on `device`, put there as a registration leaves it (adding one is tested on its own). */
async function withPasskey(options: { call?: Call; role?: "user" | "admin" } = {}) {
  const call = options.call ?? client();
  const user = await seededUser(options.role);
  const { device, passkey } = await seededPasskey(user);
  return { call, user, device, passkey };
}

/** A user who adds a passkey through the API, in a session of their own (a password login). */
async function addingPasskey(call: Call, device = authenticator()) {
  const user = await seededUser();
  const { access_token } = await login(user, call);
  const passkey = await addPasskey(call, user, access_token, device);
  return { user, device, passkey, access_token };
}

async function eventsOf(user: TestUser, type: AuthEventType) {
  return db.selectFrom("auth_events").select("details").where("user_id", "=", String(user.id)).where("type", "=", type).execute();
}

describe.concurrent("a passkey signs in", () => {
  it("is added with the password and the owner is told; then signs in with no address typed: amr hwk and user, auth_time now", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const { user, device, passkey } = await addingPasskey(call);
    expect(passkey).toMatchObject({ device_type: "singleDevice", backed_up: false, last_used_at: null, transports: ["internal"] });
    expect((await mailTo(user.email))[0]?.subject).toContain("a passkey was added");
    clock.advance(60);
    const signedIn = await signedInWithPasskey(call, device);
    expect(claimsOf(signedIn.access_token)).toMatchObject({ sub: String(user.id), amr: ["hwk", "user"], auth_time: seconds(clock()) });
    expect((await call("/users/me", bearer(signedIn.access_token))).status).toBe(200);
    // the refresh keeps how the session was made
    const refreshed = await call("/auth/refresh", json("POST", { refresh_token: signedIn.refresh_token }));
    expect(claimsOf((await refreshed.json<SignedIn>()).access_token)).toMatchObject({ amr: ["hwk", "user"] });
    expect(await eventsOf(user, "login_succeeded")).toContainEqual({ details: expect.objectContaining({ method: "passkey" }) });
  });

  it("after an address is typed: that account's passkey signs in, and another account's is refused", async () => {
    const { call, user, device } = await withPasskey();
    const other = await withPasskey({ call });
    expect((await passkeySignIn(call, device, { email: user.email.toUpperCase() })).status).toBe(200);
    await expectProblem(await passkeySignIn(call, other.device, { email: user.email }), 401, "passkey_invalid");
  });

  it("answers the same options for any address, with no list of credentials: whether an account exists does not show", async () => {
    const { call, user } = await withPasskey();
    const known = await signInOptions(call, user.email);
    const unknown = await signInOptions(call, "nobody-at-all@coffee.test");
    expect(Object.keys(known).sort()).toEqual(Object.keys(unknown).sort());
    expect(known.allowCredentials ?? []).toEqual([]);
    expect(known).toMatchObject({ rpId: "localhost", userVerification: "required", timeout: 300_000 });
  });

  it("a synced passkey is a software key (swk); its backup flags are kept", async () => {
    const call = client();
    const { device, passkey } = await addingPasskey(call, authenticator({ synced: true }));
    expect(passkey).toMatchObject({ device_type: "multiDevice", backed_up: true });
    expect(claimsOf((await signedInWithPasskey(call, device)).access_token)).toMatchObject({ amr: ["swk", "user"] });
  });

  it("a new device's sign-in is mailed to the owner; the device token it answers makes the next one a known device's", async () => {
    const { call, user, device } = await withPasskey();
    // a device the account knows already, so the passkey's is a new one (an account's first device is not announced)
    await login(user, call);
    const before = (await mailTo(user.email)).length;
    const first = await signedInWithPasskey(call, device);
    expect((await mailTo(user.email))[0]?.subject).toContain("a new sign-in");
    const again = await passkeySignIn(call, device, { deviceToken: first.device_token });
    expect(again.status).toBe(200);
    expect((await mailTo(user.email)).length).toBe(before + 1);
  });

  it("is every factor: an account with an authenticator app signs in with no code, and an admin meets ADMIN_MFA_REQUIRED", async () => {
    const clock = manualClock();
    const strict = client({ clock, env: { ADMIN_MFA_REQUIRED: "true" } });
    const admin = await seededUser("admin");
    const { secret } = await seededFactor(admin, clock());
    const { token } = await challenge(strict, admin);
    const withCode = await (await completeWith(strict, token, { code: await codeAt(secret, clock) })).json<SignedIn>();
    const device = authenticator();
    await addPasskey(strict, admin, withCode.access_token, device);
    const signedIn = await signedInWithPasskey(strict, device);
    expect(claimsOf(signedIn.access_token)).toMatchObject({ amr: ["hwk", "user"], auth_time: seconds(clock()) });
    expect((await strict("/users", bearer(signedIn.access_token))).status).toBe(200);
    // an admin with a password alone is refused, adds a passkey (their own account's page needs no factor), and is let in with it
    const plain = await seededUser("admin");
    const { access_token } = await login(plain, strict);
    await expectProblem(await strict("/users", bearer(access_token)), 403, "mfa_enrollment_required");
    const plainDevice = authenticator();
    await addPasskey(strict, plain, access_token, plainDevice);
    expect((await strict("/users", bearer((await signedInWithPasskey(strict, plainDevice)).access_token))).status).toBe(200);
  });

  it("a disabled account's passkey is refused in words", async () => {
    const { call, user, device } = await withPasskey();
    await db.updateTable("users").set({ status: "disabled" }).where("id", "=", String(user.id)).execute();
    await expectProblem(await passkeySignIn(call, device), 403, "account_disabled");
  });

  it("costs one round trip for its options and two for the sign-in (a known device); two to add one, and its notice after", async () => {
    const call = client();
    const { user, device, access_token } = await addingPasskey(call);
    const { device_token } = await signedInWithPasskey(call, device);
    const options = await countRoundTrips((counted) => signInOptions(counted));
    expect(options.roundTrips).toBe(1);
    const credential = await device.get(options.result);
    const signIn = await countRoundTrips((counted) => counted("/auth/passkeys/authentication", json("POST", { credential, device_token })));
    expect(signIn.result.status).toBe(200);
    expect(signIn.roundTrips).toBe(2);
    const created = await countRoundTrips((counted) => registrationOptions(counted, access_token));
    expect(created.roundTrips).toBe(1);
    const attestation = await authenticator().create(created.result);
    const added = await countRoundTrips((counted) =>
      counted("/auth/passkeys", bearer(access_token, json("POST", { credential: attestation, current_password: user.password }))),
    );
    expect(added.result.status).toBe(201);
    // the password guard's read, the passkey's statement, then the owner's notice marked sent after the answer
    expect(added.roundTrips).toBe(3);
  });
});

describe.concurrent("step-up with a passkey", () => {
  it("renews the session's auth_time without ending it, bound to that session: one round trip for the options, two for the proof", async () => {
    const clock = manualClock();
    const { call, user, device } = await withPasskey({ call: client({ clock }) });
    const signedIn = await signedInWithPasskey(call, device);
    clock.advance(11 * 60);
    const change = { current_password: user.password, new_password: "a passphrase changed later" };
    await expectProblem(
      await call("/auth/password/change", bearer(signedIn.access_token, json("POST", change))),
      401,
      "reauthentication_required",
    );
    const options = await countRoundTrips((counted) => reauthenticationOptions(counted, signedIn.access_token), { clock });
    expect(options.roundTrips).toBe(1);
    expect(options.result.allowCredentials).toHaveLength(1);
    const credential = await device.get(options.result);
    const renewed = await countRoundTrips(
      (counted) => counted("/auth/passkeys/reauthentication", bearer(signedIn.access_token, json("POST", { credential }))),
      { clock },
    );
    expect(renewed.roundTrips).toBe(2);
    const { access_token } = await renewed.result.json<{ access_token: string }>();
    expect(claimsOf(access_token)).toMatchObject({
      amr: ["hwk", "user"],
      auth_time: seconds(clock()),
      sid: claimsOf(signedIn.access_token).sid,
    });
    expect((await call("/auth/password/change", bearer(access_token, json("POST", change)))).status).toBe(200);
  });
});

describe.concurrent("managing passkeys", () => {
  it("holds at most 20 on an account: the 21st is refused at its options, or where it is stored when its options came first", async () => {
    const user = await seededUser();
    for (let held = 0; held < 19; held += 1) await seededPasskey(user);
    const { access_token } = await login(user);
    const [first, second] = [authenticator(), authenticator()];
    // both options while the account holds 19: the twentieth is kept, the other refused where it would be stored
    const twentieth = await first.create(await registrationOptions(api, access_token));
    const twentyFirst = await second.create(await registrationOptions(api, access_token));
    const finish = (credential: Attestation) =>
      api("/auth/passkeys", bearer(access_token, json("POST", { credential, current_password: PASSWORD })));
    expect((await finish(twentieth)).status).toBe(201);
    await expectProblem(await finish(twentyFirst), 409, "passkey_limit_reached");
    const options = await api("/auth/passkeys/registration/options", bearer(access_token, { method: "POST" }));
    await expectProblem(options, 409, "passkey_limit_reached");
    expect(await (await api("/auth/passkeys", bearer(access_token))).json<PasskeyView[]>()).toHaveLength(20);
  });

  it("lists and renames one's own; another's is not found", async () => {
    const { call, user, passkey } = await withPasskey();
    const { access_token } = await login(user, call);
    const other = await withPasskey({ call });
    const renaming = await countRoundTrips((counted) =>
      counted(`/auth/passkeys/${passkey.id}`, bearer(access_token, json("PATCH", { name: "  Work laptop " }))),
    );
    expect(await renaming.result.json<PasskeyView>()).toMatchObject({ id: passkey.id, name: "Work laptop" });
    const listing = await countRoundTrips((counted) => counted("/auth/passkeys", bearer(access_token)));
    const listed = await listing.result.json<PasskeyView[]>();
    expect(listed.map((each) => each.name)).toEqual(["Work laptop"]);
    expect({ rename: renaming.roundTrips, list: listing.roundTrips }).toEqual({ rename: 1, list: 1 });
    const theirs = await call(`/auth/passkeys/${other.passkey.id}`, bearer(access_token, json("PATCH", { name: "Mine now" })));
    await expectProblem(theirs, 404, "passkey_not_found");
  });

  it("removing one's own needs the password; the sessions it signed in end, others go on, the owner is told, and it signs in no more", async () => {
    const { call, user, device, passkey } = await withPasskey();
    const { access_token } = await login(user, call);
    const fromPasskey = await signedInWithPasskey(call, device);
    const remove = (password: string, through: Call = call) =>
      through(`/auth/passkeys/${passkey.id}`, bearer(access_token, json("DELETE", { current_password: password })));
    await expectProblem(await remove("not the password"), 401, "invalid_credentials");
    const removal = await countRoundTrips((counted) => remove(PASSWORD, counted));
    expect(removal.result.status).toBe(204);
    // the password's guard, the removal, and the notice marked sent after the answer
    expect(removal.roundTrips).toBe(3);
    await expectProblem(await call("/users/me", bearer(fromPasskey.access_token)), 401, "invalid_token");
    expect((await call("/users/me", bearer(access_token))).status).toBe(200);
    expect((await mailTo(user.email))[0]?.subject).toContain("a passkey was removed");
    await expectProblem(await passkeySignIn(call, device), 401, "passkey_invalid");
    await expectProblem(await remove(PASSWORD), 404, "passkey_not_found");
  });

  it("an admin lists a user's passkeys and removes one: every session of theirs ends, they are told, it is audited; not the admin's own", async () => {
    const { call, user, device, passkey } = await withPasskey();
    const { access_token } = await login(user, call);
    const admin = await withPasskey({ call, role: "admin" });
    const adminToken = (await login(admin.user, call)).access_token;
    const listing = await countRoundTrips((counted) => counted(`/users/${user.id}/passkeys`, bearer(adminToken)));
    const listed = await listing.result.json<PasskeyView[]>();
    expect(listed.map((each) => each.id)).toEqual([passkey.id]);
    expect(listing.roundTrips).toBe(1);
    const own = await call(`/users/${admin.user.id}/passkeys/${admin.passkey.id}`, bearer(adminToken, { method: "DELETE" }));
    await expectProblem(own, 409, "cannot_remove_own_passkey");
    const removal = await countRoundTrips((counted) =>
      counted(`/users/${user.id}/passkeys/${passkey.id}`, bearer(adminToken, { method: "DELETE" })),
    );
    expect(removal.result.status).toBe(204);
    // the removal, and the notice marked sent after the answer
    expect(removal.roundTrips).toBe(2);
    await expectProblem(await call("/users/me", bearer(access_token)), 401, "invalid_token");
    expect((await mailTo(user.email))[0]?.subject).toContain("a passkey was removed");
    expect(await eventsOf(user, "passkey_removed")).toEqual([{ details: { by: "admin", passkey_id: passkey.id, name: passkey.name } }]);
    await expectProblem(await passkeySignIn(call, device), 401, "passkey_invalid");
    const again = await call(`/users/${user.id}/passkeys/${passkey.id}`, bearer(adminToken, { method: "DELETE" }));
    await expectProblem(again, 404, "passkey_not_found");
  });

  it("the last way to sign in is never removed: an account without a password keeps a passkey, or an identity in its place", async () => {
    const admin = await seededUser("admin");
    const user = await seededUser();
    const { access_token } = await login(admin);
    const first = await addPasskey(api, user, (await login(user)).access_token);
    const second = await addPasskey(api, user, (await login(user)).access_token);
    // as an account an identity provider made
    await db.updateTable("users").set({ password_hash: null }).where("id", "=", String(user.id)).execute();
    const remove = (id: string) => api(`/users/${user.id}/passkeys/${id}`, bearer(access_token, { method: "DELETE" }));
    expect((await remove(first.id)).status).toBe(204);
    await expectProblem(await remove(second.id), 409, "last_sign_in_method");
    // an identity at a provider is a way in too
    const identity = crypto.randomUUID();
    await db
      .insertInto("identities")
      .values({ id: identity, user_id: String(user.id), provider: "local", subject: identity, email: null, linked_at: new Date() })
      .execute();
    expect((await remove(second.id)).status).toBe(204);
  });
});

/** A fresh attestation of `device` for the signed-in user's registration, bent as `bend` says. */
async function attestation(call: Call, accessToken: string, device: SoftwareAuthenticator, bend: Bend = {}): Promise<Attestation> {
  return device.create(await registrationOptions(call, accessToken), bend);
}

describe.concurrent("what an attacker sends is refused with a problem, never a 500", () => {
  it.each<[string, Bend]>([
    ["a wrong origin", { origin: "https://coffee.evil.example" }],
    ["a wrong relying-party ID", { rpId: "evil.example" }],
    ["user verification missing", { userVerified: false }],
    ["a broken signature", { brokenSignature: true }],
    ["malformed CBOR in the authenticator data", { malformed: true }],
  ])("a sign-in with %s: 401 passkey_invalid, recorded", async (_, bend) => {
    const { call, user, device } = await withPasskey();
    await expectProblem(await passkeySignIn(call, device, { bend }), 401, "passkey_invalid");
    expect(await eventsOf(user, "passkey_failed")).toEqual([{ details: { reason: "invalid_assertion", during: "sign_in" } }]);
    // the refusal spent nothing of the passkey: the next honest sign-in works
    expect((await passkeySignIn(call, device)).status).toBe(200);
  });

  it.each<[string, Bend]>([
    ["a wrong origin", { origin: "https://coffee.evil.example" }],
    ["a wrong relying-party ID", { rpId: "evil.example" }],
    ["user verification missing", { userVerified: false }],
    ["malformed CBOR in the attestation object", { malformed: true }],
  ])("a registration with %s: 401 passkey_invalid, and nothing stored", async (_, bend) => {
    const call = client();
    const user = await seededUser();
    const { access_token } = await login(user, call);
    const credential = await attestation(call, access_token, authenticator(), bend);
    const response = await call("/auth/passkeys", bearer(access_token, json("POST", { credential, current_password: PASSWORD })));
    await expectProblem(response, 401, "passkey_invalid");
    expect(await (await call("/auth/passkeys", bearer(access_token))).json()).toEqual([]);
  });

  it("a counter going backwards (a cloned key): refused, logged and recorded", async () => {
    const { call, user, device } = await withPasskey();
    await signedInWithPasskey(call, device);
    await signedInWithPasskey(call, device);
    await expectProblem(await passkeySignIn(call, device, { bend: { counter: 1 } }), 401, "passkey_invalid");
    expect(await eventsOf(user, "passkey_failed")).toEqual([{ details: { reason: "counter_regressed", during: "sign_in" } }]);
    const [stored] = await db.selectFrom("passkeys").select("sign_count").where("user_id", "=", String(user.id)).execute();
    expect(stored?.sign_count).toBe("2");
  });

  it("two assertions of one passkey racing: the statement that uses it takes only a counter that moves forward", async () => {
    const { call, user, passkey } = await withPasskey();
    const { access_token } = await login(user, call);
    const session = { userId: String(user.id), sessionId: String(claimsOf(access_token).sid) };
    const renew = (counter: number) =>
      renewAuthentication(db, {
        ...session,
        proved: ["hwk", "user"],
        spends: usePasskey({ ...session, passkeyId: passkey.id, counter, deviceType: "singleDevice", backedUp: false, now: new Date() }),
        endsPasswordRun: undefined,
        events: { actorId: null, clientAddress: null, userAgent: null, requestId: null, now: new Date() },
      });
    // both judged against the stored 0; the one with 5 lands first, and the one with 4 (judged as fine) then meets it
    expect(await renew(5)).toBeDefined();
    expect(await renew(4)).toBeUndefined();
    expect(await renew(5)).toBeUndefined();
  });

  it("a replayed assertion: its challenge was spent by the first", async () => {
    const { call, device } = await withPasskey();
    const credential = await device.get(await signInOptions(call));
    expect((await call("/auth/passkeys/authentication", json("POST", { credential }))).status).toBe(200);
    await expectProblem(await call("/auth/passkeys/authentication", json("POST", { credential })), 400, "passkey_challenge_invalid");
  });

  it("an expired challenge", async () => {
    const clock = manualClock();
    const { call, device } = await withPasskey({ call: client({ clock }) });
    const credential = await device.get(await signInOptions(call));
    clock.advance(5 * 60 + 1);
    await expectProblem(await call("/auth/passkeys/authentication", json("POST", { credential })), 400, "passkey_challenge_invalid");
  });

  it("an unknown credential, and one signed for a challenge never given", async () => {
    const { call } = await withPasskey();
    const stranger = authenticator();
    await stranger.create({ challenge: "c3RyYW5nZXI", rp: { id: "localhost" }, user: { id: "OTk5" } });
    await expectProblem(await passkeySignIn(call, stranger), 401, "passkey_invalid");
    const { device } = await withPasskey({ call });
    await expectProblem(await passkeySignIn(call, device, { bend: { challenge: "bmV2ZXIgZ2l2ZW4" } }), 400, "passkey_challenge_invalid");
  });

  it("another user's challenge: a step-up's and a registration's are bound to their session; a sign-in's is not a step-up's", async () => {
    const { call, user, device } = await withPasskey();
    const { access_token } = await login(user, call);
    const victim = await withPasskey({ call });
    const victimToken = (await login(victim.user, call)).access_token;
    const theirs = await reauthenticationOptions(call, victimToken);
    const credential = await device.get(theirs);
    const stepUp = await call("/auth/passkeys/reauthentication", bearer(access_token, json("POST", { credential })));
    await expectProblem(stepUp, 400, "passkey_challenge_invalid");
    const created = await authenticator().create(await registrationOptions(call, victimToken));
    const registration = await call(
      "/auth/passkeys",
      bearer(access_token, json("POST", { credential: created, current_password: PASSWORD })),
    );
    await expectProblem(registration, 400, "passkey_challenge_invalid");
    const signInCredential = await device.get(await signInOptions(call));
    const crossed = await call("/auth/passkeys/reauthentication", bearer(access_token, json("POST", { credential: signInCredential })));
    await expectProblem(crossed, 400, "passkey_challenge_invalid");
  });

  it("another user's credential: at a step-up, and named with this one's signature", async () => {
    const { call, user, device } = await withPasskey();
    const { access_token } = await login(user, call);
    const other = await withPasskey({ call });
    const credential = await other.device.get(await reauthenticationOptions(call, access_token));
    await expectProblem(
      await call("/auth/passkeys/reauthentication", bearer(access_token, json("POST", { credential }))),
      401,
      "passkey_invalid",
    );
    const otherId = other.device.credentials[0]?.id;
    await expectProblem(await passkeySignIn(call, device, { bend: { credentialId: otherId } }), 401, "passkey_invalid");
  });

  it("client data that is not JSON, and a credential id that is not base64url, are refused without a challenge spent", async () => {
    const { call, device } = await withPasskey();
    const credential = await device.get(await signInOptions(call));
    const garbled = { ...credential, response: { ...credential.response, clientDataJSON: "bm90IGpzb24" } };
    await expectProblem(await call("/auth/passkeys/authentication", json("POST", { credential: garbled })), 401, "passkey_invalid");
    const badId = { ...credential, id: "A", rawId: "A" };
    await expectProblem(await call("/auth/passkeys/authentication", json("POST", { credential: badId })), 401, "passkey_invalid");
    expect((await call("/auth/passkeys/authentication", json("POST", { credential }))).status).toBe(200);
  });
});
