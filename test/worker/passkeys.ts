// Passkeys as tests meet them: the ceremonies through the API, with the software authenticator.
import { expect } from "vitest";
import type { PasskeyCreationOptions, PasskeyRequestOptions, PasskeyView } from "../../src/schemas/passkeys.ts";
import type { SignedIn } from "../../src/schemas/tokens.ts";
import { type Bend, SoftwareAuthenticator } from "./authenticator.ts";
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
