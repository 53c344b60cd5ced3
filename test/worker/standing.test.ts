// One place mints a session's standing, and every way to end a session ends every token minted for it: a token
// pair (or access token) minted through each endpoint that answers one (a passkey's sign-in among them), then its
// session ended each way there is (removing the passkey it was made with among them), and the tokens refused at once
// (at this edge location, through its Cache API; elsewhere within KV's propagation).
// Also what a token says of how its session was made: a password change keeps the sign-in's `auth_time` and
// `amr`, turning the factor off takes `otp` off every session.
import { describe, expect, it } from "vitest";
import type { TotpEnabled } from "../../src/schemas/mfa.ts";
import type { IdentityView } from "../../src/schemas/identities.ts";
import type { PasskeyView } from "../../src/schemas/passkeys.ts";
import type { TokenPair } from "../../src/schemas/tokens.ts";
import {
  bearer,
  type Call,
  client,
  expectProblem,
  json,
  latestCode,
  login,
  manualClock,
  PASSWORD,
  seededUser,
  type TestUser,
} from "./helpers.ts";
import { base32Decode } from "../../src/auth/totp.ts";
import { challenge, claimsOf, codeAt, completeWith, type ManualClock, nextStep, seededFactor } from "./factors.ts";
import { linkedPerson, signInWithProvider } from "./identity-provider.ts";
import { reauthenticationOptions, seededPasskey, signedInWithPasskey } from "./passkeys.ts";

/** A way in besides the password, which a mint may make a session with and an ending may take away. */
type WayIn = "passkey" | "identity";

/** Someone whose tokens the matrix ends: an admin (so a demotion ends something), maybe with an authenticator app. */
interface Subject {
  call: Call;
  clock: ManualClock;
  user: TestUser;
  secret: Uint8Array | undefined;
  /** The passkey a passkey's sign-in was made with. */
  passkey: PasskeyView | undefined;
  /** The id of the identity a provider's sign-in was made with. */
  identity: string | undefined;
}

/** What an endpoint minted: an access token, and the refresh token of its session when the answer had one. */
interface Minted {
  access: string;
  refresh: string | undefined;
}

async function ok<T>(response: Response): Promise<T> {
  expect(response.status, await response.clone().text()).toBeLessThan(300);
  return response.json<T>();
}

async function signInWithFactor(subject: Subject): Promise<TokenPair> {
  const { call, clock, user, secret } = subject;
  if (!secret) throw new Error("no factor");
  const { token } = await challenge(call, user);
  const pair = await ok<TokenPair>(await completeWith(call, token, { code: await codeAt(secret, clock) }));
  nextStep(clock);
  return pair;
}

/** Each endpoint that answers tokens, whether its subject has a factor to start with, and whether when it is done. */
const MINTS: Record<string, { factor: { before: boolean; after: boolean }; way?: WayIn; mint(subject: Subject): Promise<Minted> }> = {
  "a passkey's sign-in": {
    factor: { before: false, after: false },
    way: "passkey",
    mint: async (subject) => {
      const { device, passkey } = await seededPasskey(subject.user);
      subject.passkey = passkey;
      return pairOf(await signedInWithPasskey(subject.call, device));
    },
  },
  // the session was signed in with a password and is then made with the passkey: removing it ends the session
  "re-authentication with a passkey": {
    factor: { before: false, after: false },
    way: "passkey",
    mint: async (subject) => {
      const { call, user } = subject;
      const { access_token, refresh_token } = await login(user, call);
      const { device, passkey } = await seededPasskey(user);
      subject.passkey = passkey;
      const credential = await device.get(await reauthenticationOptions(call, access_token));
      const renewed = await ok<{ access_token: string }>(
        await call("/auth/passkeys/reauthentication", bearer(access_token, json("POST", { credential }))),
      );
      return { access: renewed.access_token, refresh: refresh_token };
    },
  },
  "a provider's sign-in": {
    factor: { before: false, after: false },
    way: "identity",
    mint: async (subject) => {
      const { call, user } = subject;
      const { access_token } = await login(user, call);
      const person = await linkedPerson(call, access_token, user.password);
      const [identity] = await ok<IdentityView[]>(await call("/auth/identities", bearer(access_token)));
      subject.identity = identity?.id;
      return pairOf(await signInWithProvider(call, person.login));
    },
  },
  login: {
    factor: { before: false, after: false },
    mint: async ({ call, user }) => pairOf(await login(user, call)),
  },
  "login with a factor": {
    factor: { before: true, after: true },
    mint: async (subject) => pairOf(await signInWithFactor(subject)),
  },
  refresh: {
    factor: { before: false, after: false },
    mint: async ({ call, user }) => {
      const { refresh_token } = await login(user, call);
      return pairOf(await ok<TokenPair>(await call("/auth/refresh", json("POST", { refresh_token }))));
    },
  },
  "re-authentication": {
    factor: { before: false, after: false },
    mint: async ({ call, user }) => {
      const { access_token, refresh_token } = await login(user, call);
      const renewed = await ok<{ access_token: string }>(
        await call("/auth/reauthenticate", bearer(access_token, json("POST", { password: user.password }))),
      );
      return { access: renewed.access_token, refresh: refresh_token };
    },
  },
  "password change": {
    factor: { before: false, after: false },
    mint: async (subject) => {
      const { call, user } = subject;
      const { access_token } = await login(user, call);
      const newPassword = `changed ${crypto.randomUUID()}`;
      const body = { current_password: user.password, new_password: newPassword };
      const pair = await ok<TokenPair>(await call("/auth/password/change", bearer(access_token, json("POST", body))));
      subject.user = { ...user, password: newPassword };
      return pairOf(pair);
    },
  },
  "turning a factor on": {
    factor: { before: false, after: true },
    mint: async (subject) => {
      const { call, clock, user } = subject;
      const { access_token } = await login(user, call);
      const started = await call("/auth/mfa/totp", bearer(access_token, json("POST", { current_password: user.password })));
      const secret = base32Decode((await ok<{ secret: string }>(started)).secret);
      subject.secret = secret;
      if (!secret) throw new Error("no secret");
      const body = { code: await codeAt(secret, clock) };
      const enabled = await ok<TotpEnabled>(await call("/auth/mfa/totp/confirm", bearer(access_token, json("POST", body))));
      nextStep(clock);
      return pairOf(enabled);
    },
  },
  "turning the factor off": {
    factor: { before: true, after: false },
    mint: async (subject) => {
      const { call, clock, user, secret } = subject;
      const { access_token } = await signInWithFactor(subject);
      if (!secret) throw new Error("no factor");
      const body = { current_password: user.password, code: await codeAt(secret, clock) };
      const pair = await ok<TokenPair>(await call("/auth/mfa/totp/disable", bearer(access_token, json("POST", body))));
      subject.secret = undefined;
      nextStep(clock);
      return pairOf(pair);
    },
  },
};

function pairOf(pair: TokenPair): Minted {
  return { access: pair.access_token, refresh: pair.refresh_token };
}

/** An admin of the matrix's own, so no admin meets the limit on writes per user. */
async function adminToken(call: Call): Promise<string> {
  return (await login(await seededUser("admin"), call)).access_token;
}

/** Each way a session ends, and whether it needs the subject to have a factor (or not to). */
const ENDINGS: Record<string, { needs?: "factor" | "no factor" | WayIn; end(subject: Subject, minted: Minted): Promise<void> }> = {
  "removing the passkey it was made with": {
    needs: "passkey",
    end: async ({ call, user, passkey }, { access }) => {
      const body = { current_password: user.password };
      expect((await call(`/auth/passkeys/${passkey?.id}`, bearer(access, json("DELETE", body)))).status).toBe(204);
    },
  },
  "an admin's removal of a passkey": {
    needs: "passkey",
    end: async ({ call, user, passkey }) => {
      const response = await call(`/users/${user.id}/passkeys/${passkey?.id}`, bearer(await adminToken(call), { method: "DELETE" }));
      expect(response.status).toBe(204);
    },
  },
  "unlinking the identity it was made with": {
    needs: "identity",
    end: async ({ call, identity }, { access }) => {
      expect((await call(`/auth/identities/${identity}`, bearer(access, { method: "DELETE" }))).status).toBe(204);
    },
  },
  "an admin's unlinking of an identity": {
    needs: "identity",
    end: async ({ call, user, identity }) => {
      const response = await call(`/users/${user.id}/identities/${identity}`, bearer(await adminToken(call), { method: "DELETE" }));
      expect(response.status).toBe(204);
    },
  },
  logout: {
    end: async ({ call }, { refresh }) => {
      if (!refresh) throw new Error("no refresh token");
      expect((await call("/auth/logout", json("POST", { refresh_token: refresh }))).status).toBe(204);
    },
  },
  "logout everywhere": {
    end: async ({ call }, { access }) => {
      expect((await call("/auth/logout/all", bearer(access, { method: "POST" }))).status).toBe(204);
    },
  },
  "a password reset": {
    end: async ({ call, user }) => {
      await call("/auth/password/forgot", json("POST", { email: user.email }));
      const body = { email: user.email, code: await latestCode(user.email), new_password: `reset ${crypto.randomUUID()}` };
      expect((await call("/auth/password/reset", json("POST", body))).status).toBe(200);
    },
  },
  "a password change": {
    end: async ({ call, user }, { access }) => {
      const body = { current_password: user.password, new_password: `changed ${crypto.randomUUID()}` };
      expect((await call("/auth/password/change", bearer(access, json("POST", body)))).status).toBe(200);
    },
  },
  "disabling the account": {
    end: async ({ call, user }) => {
      const response = await call(`/users/${user.id}`, bearer(await adminToken(call), json("PATCH", { status: "disabled" })));
      expect(response.status).toBe(200);
    },
  },
  "a demotion": {
    end: async ({ call, user }) => {
      const response = await call(`/users/${user.id}`, bearer(await adminToken(call), json("PATCH", { role: "user" })));
      expect(response.status).toBe(200);
    },
  },
  "an admin's factor reset": {
    needs: "factor",
    end: async ({ call, user }) => {
      const response = await call(`/users/${user.id}/mfa`, bearer(await adminToken(call), { method: "DELETE" }));
      expect(response.status).toBe(204);
    },
  },
  "turning a factor on": {
    needs: "no factor",
    end: async ({ call, clock, user }, { access }) => {
      const started = await call("/auth/mfa/totp", bearer(access, json("POST", { current_password: user.password })));
      const secret = base32Decode((await ok<{ secret: string }>(started)).secret);
      if (!secret) throw new Error("no secret");
      const confirmed = await call("/auth/mfa/totp/confirm", bearer(access, json("POST", { code: await codeAt(secret, clock) })));
      expect(confirmed.status).toBe(200);
    },
  },
  "turning the factor off": {
    needs: "factor",
    end: async ({ call, clock, user, secret }, { access }) => {
      if (!secret) throw new Error("no factor");
      const body = { current_password: user.password, code: await codeAt(secret, clock) };
      expect((await call("/auth/mfa/totp/disable", bearer(access, json("POST", body)))).status).toBe(200);
    },
  },
};

const cases = Object.entries(MINTS).flatMap(([minter, mint]) =>
  Object.entries(ENDINGS)
    .filter(([, ending]) =>
      ending.needs === "passkey" || ending.needs === "identity"
        ? mint.way === ending.needs
        : ending.needs === undefined || (ending.needs === "factor") === mint.factor.after,
    )
    .map(([ender, ending]) => ({ minter, ender, mint, ending })),
);

describe.concurrent("every token minted for a session ends with it", () => {
  it.each(cases)("minted by $minter, ended by $ender", async ({ mint, ending }) => {
    const clock = manualClock();
    const subject: Subject = {
      call: client({ clock }),
      clock,
      user: await seededUser("admin"),
      secret: undefined,
      passkey: undefined,
      identity: undefined,
    };
    if (mint.factor.before) subject.secret = (await seededFactor(subject.user, clock())).secret;
    const minted = await mint.mint(subject);
    expect((await subject.call("/users/me", bearer(minted.access))).status).toBe(200);
    await ending.end(subject, minted);
    await expectProblem(await subject.call("/users/me", bearer(minted.access)), 401, "invalid_token");
    if (minted.refresh) {
      await expectProblem(await subject.call("/auth/refresh", json("POST", { refresh_token: minted.refresh })), 401, "invalid_token");
    }
  });
});

describe("what a token says of how its session was made", () => {
  it("a password change keeps the sign-in's auth_time and amr: a password alone never renews a sign-in made with a factor", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const subject: Subject = {
      call,
      clock,
      user,
      secret: (await seededFactor(user, clock())).secret,
      passkey: undefined,
      identity: undefined,
    };
    const signedIn = await signInWithFactor(subject);
    const before = claimsOf(signedIn.access_token);
    clock.advance(5 * 60);
    const body = { current_password: PASSWORD, new_password: "a changed passphrase" };
    const changed = await ok<TokenPair>(await call("/auth/password/change", bearer(signedIn.access_token, json("POST", body))));
    expect(claimsOf(changed.access_token)).toMatchObject({ amr: ["pwd", "otp"], auth_time: before.auth_time });
    // so the step-up window still runs from the sign-in: six minutes on, a sensitive change asks again
    clock.advance(6 * 60);
    const again = { current_password: "a changed passphrase", new_password: "another changed passphrase" };
    await expectProblem(
      await call("/auth/password/change", bearer(changed.access_token, json("POST", again))),
      401,
      "reauthentication_required",
    );
  });

  it("turning the factor off ends every session: none goes on with otp in its amr, so an admin needs a factor again", async () => {
    const clock = manualClock();
    const strict = client({ clock, env: { ADMIN_MFA_REQUIRED: "true" } });
    const admin = await seededUser("admin");
    const subject: Subject = {
      call: strict,
      clock,
      user: admin,
      secret: (await seededFactor(admin, clock())).secret,
      passkey: undefined,
      identity: undefined,
    };
    const other = await signInWithFactor(subject);
    const current = await signInWithFactor(subject);
    expect((await strict("/users", bearer(other.access_token))).status).toBe(200);
    if (!subject.secret) throw new Error("no factor");
    const body = { current_password: PASSWORD, code: await codeAt(subject.secret, clock) };
    const off = await ok<TokenPair>(await strict("/auth/mfa/totp/disable", bearer(current.access_token, json("POST", body))));
    expect(claimsOf(off.access_token)).toMatchObject({ amr: ["pwd"] });
    await expectProblem(await strict("/users", bearer(other.access_token)), 401, "invalid_token");
    await expectProblem(await strict("/auth/refresh", json("POST", { refresh_token: other.refresh_token })), 401, "invalid_token");
    await expectProblem(await strict("/users", bearer(off.access_token)), 403, "mfa_enrollment_required");
    // and its refresh carries the session as it is now
    const refreshed = await ok<TokenPair>(await strict("/auth/refresh", json("POST", { refresh_token: off.refresh_token })));
    expect(claimsOf(refreshed.access_token)).toMatchObject({ amr: ["pwd"] });
  });
});
