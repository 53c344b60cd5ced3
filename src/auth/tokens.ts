import { base64url, createLocalJWKSet, importJWK, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import type { Config, PrivateJwk } from "../config.ts";
import type { Jwks, PublicJwk } from "../schemas/keys.ts";
import { type AuthMethod, AuthMethodSchema } from "../schemas/mfa.ts";
import { type UserRole, UserRoleSchema } from "../schemas/user.ts";
import { hmacSha256, randomToken, sha256 } from "./crypto.ts";

const ACCESS_SCOPE = "access_token";
const ALGORITHMS = ["EdDSA", "ES256"];

export interface AccessClaims {
  userId: string;
  role: UserRole;
  sessionId: string;
  /** The user's session generation when the session was made: ending every session of a user moves it on. */
  generation: number;
  /** How the session's person last proved who they are (RFC 8176), and when: step-up asks for both. */
  amr: AuthMethod[];
  authTime: Date;
  tokenId: string;
  expiresAt: Date;
}

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

interface KeyRing {
  signer: { key: CryptoKey; kid: string; alg: string };
  publicJwks: Jwks;
  verifier: ReturnType<typeof createLocalJWKSet>;
}

function algorithmOf(jwk: PrivateJwk): string {
  return jwk.crv === "Ed25519" ? "EdDSA" : "ES256";
}

function publicPartOf(jwk: PrivateJwk): PublicJwk {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...(jwk.y ? { y: jwk.y } : {}), kid: jwk.kid, alg: algorithmOf(jwk), use: "sig" };
}

async function loadKeyRing(config: Config): Promise<KeyRing> {
  const [first] = config.JWT_PRIVATE_KEYS;
  if (!first) throw new Error("JWT_PRIVATE_KEYS is empty");
  const key = await importJWK({ ...first, alg: algorithmOf(first) }, algorithmOf(first));
  if (!(key instanceof CryptoKey)) throw new Error("JWT signing key did not import as a CryptoKey");
  const publicJwks = { keys: config.JWT_PRIVATE_KEYS.map(publicPartOf) };
  return { signer: { key, kid: first.kid, alg: algorithmOf(first) }, publicJwks, verifier: createLocalJWKSet(publicJwks) };
}

// Importing keys is the slow part; do it once per isolate and configuration.
const keyRings = new WeakMap<Config, Promise<KeyRing>>();

function keyRing(config: Config): Promise<KeyRing> {
  let ring = keyRings.get(config);
  if (!ring) {
    ring = loadKeyRing(config);
    keyRings.set(config, ring);
  }
  return ring;
}

export async function publicJwks(config: Config): Promise<Jwks> {
  return (await keyRing(config)).publicJwks;
}

/** Who an access token speaks for: the user, their role and the session, with its generation. */
export type TokenSubject = Pick<AccessClaims, "userId" | "role" | "sessionId" | "generation" | "amr" | "authTime">;

export async function issueAccessToken(config: Config, subject: TokenSubject, now: Date): Promise<{ token: string; expiresIn: number }> {
  const { signer } = await keyRing(config);
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expiresIn = config.ACCESS_TOKEN_TTL_SECONDS;
  const token = await new SignJWT({
    scope: ACCESS_SCOPE,
    sid: subject.sessionId,
    gen: subject.generation,
    role: subject.role,
    amr: subject.amr,
    auth_time: Math.floor(subject.authTime.getTime() / 1000),
  })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: "at+jwt" })
    .setIssuer(config.JWT_ISSUER)
    .setAudience(config.JWT_AUDIENCE)
    .setSubject(subject.userId)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + expiresIn)
    .setJti(crypto.randomUUID())
    .sign(signer.key);
  return { token, expiresIn };
}

/** Far above any token this API signs (about 500 bytes): a larger one is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 4096;
/** How far ahead of this clock a token's `iat` may be: clocks of two locations differ a little, no more. */
const ISSUED_AT_SKEW_SECONDS = 60;

const AccessPayload = z.object({
  sub: z.string().regex(/^[1-9]\d{0,17}$/),
  sid: z.uuid(),
  jti: z.string().min(1).max(64),
  iat: z.number(),
  exp: z.number(),
  role: UserRoleSchema,
  scope: z.literal(ACCESS_SCOPE),
  // absent from tokens signed before generations existed: those are of the first
  gen: z.number().int().min(0).default(0),
  // absent from tokens signed before the second factor: a password, at the token's own time
  amr: z.array(AuthMethodSchema).min(1).default(["pwd"]),
  auth_time: z.number().optional(),
});

/**
 * Verifies the signature (allow-listed algorithms, keys of our own set only: a key, URL or certificate in
 * the token's header is never used), issuer, audience, type, expiry, not-before, issued-at and scope;
 * needs no I/O. RFC 8725 §2.1 and §3.1.
 */
export async function verifyAccessToken(config: Config, token: string, now: Date): Promise<AccessClaims> {
  if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError("The access token is invalid or expired.");
  const { verifier } = await keyRing(config);
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, verifier, {
      algorithms: ALGORITHMS,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      typ: "at+jwt",
      currentDate: now,
      requiredClaims: ["sub", "exp", "iat", "jti"],
    }));
  } catch {
    throw new InvalidTokenError("The access token is invalid or expired.");
  }
  const claims = AccessPayload.safeParse(payload);
  if (!claims.success) throw new InvalidTokenError("The token is not an access token.");
  const { sub, sid, jti, iat, exp, role, gen, amr, auth_time } = claims.data;
  // jose checks iat only against a maximum age; a token from the future was not made by this API's clock
  if (iat > now.getTime() / 1000 + ISSUED_AT_SKEW_SECONDS) throw new InvalidTokenError("The access token is invalid or expired.");
  return {
    userId: sub,
    role,
    sessionId: sid,
    generation: gen,
    amr,
    authTime: new Date((auth_time ?? iat) * 1000),
    tokenId: jti,
    expiresAt: new Date(exp * 1000),
  };
}

export interface RefreshTokenPair {
  token: string;
  hash: Uint8Array;
}

export async function newRefreshToken(): Promise<RefreshTokenPair> {
  const token = randomToken();
  return { token, hash: await sha256(token) };
}

export async function refreshTokenHash(token: string): Promise<Uint8Array> {
  return sha256(token);
}

/**
 * The token that replaces `token` at rotation. Deriving it (instead of drawing it at random) lets a
 * replay of `token` within the grace window answer with the same successor although only hashes are
 * stored: two tabs refreshing at once end up holding one live token, and neither is signed out.
 */
export async function successorOf(config: Config, token: string): Promise<RefreshTokenPair> {
  const successor = base64url.encode(await hmacSha256(config.HASH_SECRET, `refresh-successor:${token}`));
  return { token: successor, hash: await sha256(successor) };
}
