import { generateKeyPairSync, randomBytes } from "node:crypto";

/** A new Ed25519 private JWK for signing access tokens, with a kid that says when it was made. */
function newSigningJwk(): Record<string, unknown> & { kid: string } {
  const { privateKey } = generateKeyPairSync("ed25519");
  const kid = `ed25519-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString("hex")}`;
  return { ...privateKey.export({ format: "jwk" }), kid };
}

/** A value for HASH_SECRET: 32 random bytes. */
function newHashSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** The settings that must be secret and random: generated per machine for development and tests. */
export function newSecretSettings(): { JWT_PRIVATE_KEYS: string; HASH_SECRET: string } {
  return { JWT_PRIVATE_KEYS: JSON.stringify([newSigningJwk()]), HASH_SECRET: newHashSecret() };
}
