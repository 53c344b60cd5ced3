// Passkeys as tests meet them: the ceremonies through the API, with the software authenticator, and a passkey put on
// an account the way a finished registration leaves it (for tests whose subject is not adding one).
import { expect, inject } from "vitest";
import { getDb } from "../../src/db/client.ts";
import type { PasskeyCreationOptions, PasskeyRequestOptions, PasskeyView } from "../../src/schemas/passkeys.ts";
import { userHandleOf } from "../../src/services/guards/passkey.ts";
import type { SignedIn } from "../../src/schemas/tokens.ts";
import { base64url, type Bend, SoftwareAuthenticator } from "./authenticator.ts";
import { bearer, type Call, json, type TestUser } from "./helpers.ts";

/** The origin and relying party the tests' Worker allows (the settings' defaults: local development's). */
export const ORIGIN = "http://localhost:8787";

export function authenticator(options: { synced?: boolean } = {}): SoftwareAuthenticator {
  return new SoftwareAuthenticator(ORIGIN, options);
}

async function ok<T>(response: Response, status = 200): Promise<T> {
  expect(response.status, await response.clone().text()).toBe(status);
  return response.json<T>();
}

export async function registrationOptions(call: Call, accessToken: string): Promise<PasskeyCreationOptions> {
  return ok(await call("/auth/passkeys/registration/options", bearer(accessToken, { method: "POST" })));
}

/** Adds a passkey of `device` to the signed-in user's account, as a client does: options, create(), the result. */
export async function addPasskey(call: Call, user: TestUser, accessToken: string, device = authenticator()): Promise<PasskeyView> {
  const credential = await device.create(await registrationOptions(call, accessToken));
  const body = { credential, current_password: user.password };
  return ok(await call("/auth/passkeys", bearer(accessToken, json("POST", body))), 201);
}

export async function signInOptions(call: Call, email?: string): Promise<PasskeyRequestOptions> {
  return ok(await call("/auth/passkeys/authentication/options", json("POST", email === undefined ? {} : { email })));
}

/** A sign-in with `device`'s passkey (for the address typed, if any), bent as an attacker would: the API's answer. */
export async function passkeySignIn(
  call: Call,
  device: SoftwareAuthenticator,
  options: { email?: string; bend?: Bend; deviceToken?: string } = {},
): Promise<Response> {
  const credential = await device.get(await signInOptions(call, options.email), options.bend);
  return call("/auth/passkeys/authentication", json("POST", { credential, device_token: options.deviceToken }));
}

export async function signedInWithPasskey(call: Call, device: SoftwareAuthenticator): Promise<SignedIn> {
  return ok(await passkeySignIn(call, device));
}

export async function reauthenticationOptions(call: Call, accessToken: string): Promise<PasskeyRequestOptions> {
  return ok(await call("/auth/passkeys/reauthentication/options", bearer(accessToken, { method: "POST" })));
}

/**
 * A passkey of `device` on `user`'s account, as a finished registration leaves it, straight in the database: for
 * tests whose subject is not adding one (passkeys.test.ts adds them through the API). Costs no password check.
 */
export async function seededPasskey(
  user: TestUser,
  device = authenticator(),
): Promise<{ device: SoftwareAuthenticator; passkey: PasskeyView }> {
  await device.create({
    challenge: base64url(crypto.getRandomValues(new Uint8Array(32))),
    rp: { id: "localhost" },
    user: { id: userHandleOf(String(user.id)) },
  });
  const credential = device.credentials.at(-1);
  if (!credential) throw new Error("the authenticator made no credential");
  const row = await getDb(inject("databaseUrl"))
    .insertInto("passkeys")
    .values({
      id: crypto.randomUUID(),
      user_id: String(user.id),
      credential_id: credential.id,
      public_key: credential.publicKey,
      transports: ["internal"],
      device_type: "singleDevice",
      backed_up: false,
      aaguid: "00000000-0000-0000-0000-000000000000",
      name: "Seeded passkey",
      created_at: new Date(),
    })
    .returning(["id", "name", "device_type", "backed_up", "transports", "created_at", "last_used_at"])
    .executeTakeFirstOrThrow();
  return { device, passkey: { ...row, created_at: row.created_at.toISOString(), last_used_at: null } };
}
