// Access tokens an attacker crafts (RFC 8725, JSON Web Token Best Current Practices): each is refused
// with 401 invalid_token, never accepted and never a 500. The tests hold a key pair the Worker trusts,
// so every crafted token differs from a valid one in the one way the test names.
import { base64url, exportJWK, generateKeyPair, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { bearer, type Call, client, expectProblem, login, seededUser, type TestUser } from "./helpers.ts";

const encoder = new TextEncoder();
const ISSUER = "coffee-shop-api";
const AUDIENCE = "coffee-shop";

interface Signer {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
}

async function signer(kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { extractable: true });
  return { kid, privateKey, publicJwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey) };
}

function encodePart(part: unknown): string {
  return base64url.encode(encoder.encode(JSON.stringify(part)));
}

/** A compact JWS of exactly this header and payload, signed with Ed25519 (or not at all). */
async function craft(header: Record<string, unknown>, payload: Record<string, unknown>, key?: CryptoKey): Promise<string> {
  const input = `${encodePart(header)}.${encodePart(payload)}`;
  if (!key) return `${input}.`;
  const signature = new Uint8Array(await crypto.subtle.sign("Ed25519", key, encoder.encode(input)));
  return `${input}.${base64url.encode(signature)}`;
}

/** The same, signed with HMAC-SHA256 under `secret`: the alg confusion attack. */
async function craftHs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string): Promise<string> {
  const input = `${encodePart(header)}.${encodePart(payload)}`;
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return `${input}.${base64url.encode(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(input))))}`;
}

let trusted: Signer;
let attacker: Signer;
let call: Call;
let user: TestUser;

function payload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: String(user.id),
    iat: now,
    exp: now + 600,
    jti: crypto.randomUUID(),
    sid: crypto.randomUUID(),
    role: "user",
    scope: "access_token",
    ...overrides,
  };
}

function header(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: "EdDSA", typ: "at+jwt", kid: trusted.kid, ...overrides };
}

const me = (token: string, through: Call = call) => through("/users/me", bearer(token));

async function expectRefused(token: string, through: Call = call): Promise<void> {
  await expectProblem(await me(token, through), 401, "invalid_token");
}

beforeAll(async () => {
  [trusted, attacker] = await Promise.all([signer("trusted-key"), signer("attacker-key")]);
  call = client({ env: { JWT_PRIVATE_KEYS: JSON.stringify([{ ...trusted.privateJwk, kid: trusted.kid }]) } });
  user = await seededUser("user");
});

describe("a token crafted with the trusted key", () => {
  it("is accepted when nothing is wrong with it (the control)", async () => {
    expect((await me(await craft(header(), payload(), trusted.privateKey))).status).toBe(200);
  });
});

describe("hostile tokens (RFC 8725)", () => {
  it.each(["none", "None", "NONE", "nOnE"])("§3.1: alg %s, unsigned or with any signature", async (alg) => {
    const unsigned = await craft(header({ alg }), payload());
    await expectRefused(unsigned);
    await expectRefused(`${unsigned}c2lnbmF0dXJl`);
  });

  it("§3.1 (alg confusion): HS256 keyed with the public key, as its x and as the JWKS text", async () => {
    const jwks = await (await call("/.well-known/jwks.json")).text();
    for (const secret of [trusted.publicJwk.x ?? "", jwks]) {
      await expectRefused(await craftHs256(header({ alg: "HS256" }), payload(), secret));
    }
  });

  it.each([
    ["jwk", () => ({ jwk: { ...attacker.publicJwk, kid: attacker.kid } })],
    ["jku", () => ({ jku: "https://attacker.example/jwks.json" })],
    ["x5u", () => ({ x5u: "https://attacker.example/cert.pem" })],
    ["x5c", () => ({ x5c: ["MIIBszCCAVmgAwIBAgIUQ29mZmVlU2hvcA=="] })],
  ])("§3.10: an embedded %s naming the attacker's key is never used", async (_, embedded) => {
    for (const kid of [attacker.kid, trusted.kid]) {
      await expectRefused(await craft(header({ ...embedded(), kid }), payload(), attacker.privateKey));
    }
  });

  it.each([
    ["a path", "../../../../etc/passwd"],
    ["SQL", "' OR 1=1 --"],
    ["10 KB", "k".repeat(10_000)],
    ["no such key", "some-other-key"],
    ["a number", 42],
    ["null", null],
  ])("§3.10: a hostile kid: %s", async (_, kid) => {
    await expectRefused(await craft(header({ kid }), payload(), trusted.privateKey));
  });

  it("RFC 7515 §4.1.11: an unknown crit extension", async () => {
    await expectRefused(await craft(header({ crit: ["exp2"], exp2: 1 }), payload(), trusted.privateKey));
  });

  it.each([["JWT"], ["jwt"], [undefined]])("RFC 9068 §4: a typ of %s instead of at+jwt", async (typ) => {
    await expectRefused(await craft(header({ typ }), payload(), trusted.privateKey));
  });

  it("RFC 7519 §4.1.5: nbf in the future", async () => {
    await expectRefused(await craft(header(), payload({ nbf: Math.floor(Date.now() / 1000) + 3600 }), trusted.privateKey));
  });

  it("RFC 7519 §4.1.6: iat in the future, beyond a minute of clock skew", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await craft(header(), payload({ iat: now + 3600, exp: now + 4200 }), trusted.privateKey));
    // within the skew: still fine
    expect((await me(await craft(header(), payload({ iat: now + 30 }), trusted.privateKey))).status).toBe(200);
  });

  it("RFC 7519 §4.1.4: an exp in the past", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await craft(header(), payload({ iat: now - 7200, exp: now - 3600 }), trusted.privateKey));
  });

  it.each([
    ["another scope", { scope: "refresh_token" }],
    ["no scope", { scope: undefined }],
    ["a sub of 0", { sub: "0" }],
    ["a negative sub", { sub: "-1" }],
    ["a sub that is not a number", { sub: "admin" }],
    ["a numeric sub", { sub: 1 }],
    ["another audience", { aud: "someone-else" }],
    ["another issuer", { iss: "someone-else" }],
    ["no jti", { jti: undefined }],
    ["a role that does not exist", { role: "root" }],
  ])("a signed token with %s", async (_, overrides) => {
    await expectRefused(await craft(header(), payload(overrides), trusted.privateKey));
  });

  it("OWASP ASVS 5.0 V9.1.3: a token signed by a key that has been removed", async () => {
    const token = await craft(header(), payload(), trusted.privateKey);
    const successor = await signer("successor-key");
    const rotated = client({ env: { JWT_PRIVATE_KEYS: JSON.stringify([{ ...successor.privateJwk, kid: successor.kid }]) } });
    await expectRefused(token, rotated);
  });

  it("a refresh token, or a random string, as a bearer token", async () => {
    const { refresh_token } = await login(user);
    await expectRefused(refresh_token);
    await expectRefused("definitely-not-a-token");
    await expectRefused("a.b.c");
  });

  it("API4:2023: an oversized token (64 KB)", async () => {
    const huge = await craft(header(), payload({ padding: "p".repeat(64 * 1024) }), trusted.privateKey);
    await expectRefused(huge);
  });
});
