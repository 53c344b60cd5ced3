import { CODE_LENGTH } from "../schemas/codes.ts";
import { hmacSha256, randomDigits } from "./crypto.ts";

/**
 * One-time codes are stored as an HMAC keyed by a server secret and bound to the address the code was
 * sent to: a leaked table neither reveals codes nor lets anyone try a million guesses offline.
 */
export function codeHash(secret: string, address: string, code: string): Promise<Uint8Array> {
  return hmacSha256(secret, `one-time-code:${address}:${code}`);
}

export async function newCode(secret: string, address: string): Promise<{ code: string; hash: Uint8Array }> {
  const code = randomDigits(CODE_LENGTH);
  return { code, hash: await codeHash(secret, address, code) };
}
