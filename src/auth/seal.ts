// Secrets the database must hand back but should not show: outbox bodies carry one-time codes until they are
// sent, and a second factor's TOTP secret lives as long as the factor. Sealed with AES-GCM under a key derived
// from the server's secret for each use, a read of the database reveals neither.
import { base64url } from "jose";

const VERSION = "v1.";
const IV_BYTES = 12;
const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** What a sealed text is for: each has a key of its own, so one can never be opened as the other. */
export type SealedFor = "outbox" | "totp" | "oidc";

const CONTEXTS: Record<SealedFor, string> = {
  outbox: "coffee-shop outbox seal",
  totp: "coffee-shop totp secret seal",
  oidc: "coffee-shop identity provider flow seal",
};

function sealingKey(secret: string, purpose: SealedFor): Promise<CryptoKey> {
  const id = `${purpose}:${secret}`;
  let key = keys.get(id);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"])
      .then((material) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: encoder.encode(CONTEXTS[purpose]) },
          material,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    keys.set(id, key);
  }
  return key;
}

export async function seal(secret: string, plaintext: string, purpose: SealedFor = "outbox"): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await sealingKey(secret, purpose), encoder.encode(plaintext)),
  );
  const sealed = new Uint8Array(IV_BYTES + ciphertext.length);
  sealed.set(iv);
  sealed.set(ciphertext, IV_BYTES);
  return `${VERSION}${base64url.encode(sealed)}`;
}

/**
 * Opens what `seal` made (throws for anything else). Only the outbox held text before sealing existed: such text is
 * returned as it is; for every other purpose an unsealed text is refused, since it could be anyone's.
 */
export async function unseal(secret: string, stored: string, purpose: SealedFor = "outbox"): Promise<string> {
  if (!stored.startsWith(VERSION)) {
    if (purpose === "outbox") return stored;
    throw new Error("not sealed");
  }
  const sealed = base64url.decode(stored.slice(VERSION.length));
  const plaintext = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: sealed.slice(0, IV_BYTES) },
    await sealingKey(secret, purpose),
    sealed.slice(IV_BYTES),
  );
  return new TextDecoder().decode(plaintext);
}
