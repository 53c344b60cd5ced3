// Small WebCrypto helpers shared by tokens and one-time codes.
import { base64url } from "jose";

const encoder = new TextEncoder();

export function randomToken(byteLength = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(byteLength)));
}

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** RFC 7636's S256 code challenge of a verifier: base64url(SHA-256(verifier)), unpadded. */
export async function s256CodeChallenge(verifier: string): Promise<string> {
  return base64url.encode(await sha256(verifier));
}

const hmacKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    hmacKeys.set(secret, key);
  }
  return key;
}

export async function hmacSha256(secret: string, message: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(message)));
}

/** A uniformly distributed string of `length` decimal digits (rejection sampling avoids modulo bias). */
export function randomDigits(length: number): string {
  let digits = "";
  while (digits.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 250 && digits.length < length) digits += String(byte % 10);
    }
  }
  return digits;
}
