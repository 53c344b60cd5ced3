// Outbox bodies carry one-time codes until they are sent; sealed with a key derived from the server's
// secret, a read of the database does not reveal a live code.
import { base64url } from "jose";

const VERSION = "v1.";
const IV_BYTES = 12;
const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function sealingKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"])
      .then((material) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: encoder.encode("coffee-shop outbox seal") },
          material,
          { name: "AES-GCM", length: 256 },
          false,
          ["encrypt", "decrypt"],
        ),
      );
    keys.set(secret, key);
  }
  return key;
}

export async function seal(secret: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await sealingKey(secret), encoder.encode(plaintext)),
  );
  const sealed = new Uint8Array(IV_BYTES + ciphertext.length);
  sealed.set(iv);
  sealed.set(ciphertext, IV_BYTES);
  return `${VERSION}${base64url.encode(sealed)}`;
}

/** Opens what `seal` made; text queued before sealing existed is returned as it is. */
export async function unseal(secret: string, stored: string): Promise<string> {
  if (!stored.startsWith(VERSION)) return stored;
  const sealed = base64url.decode(stored.slice(VERSION.length));
  const plaintext = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: sealed.slice(0, IV_BYTES) },
    await sealingKey(secret),
    sealed.slice(IV_BYTES),
  );
  return new TextDecoder().decode(plaintext);
}
