// Recovery codes: what a person keeps on paper for the day their authenticator is gone. Shown once, stored as
// hashes, each good once (the caller deletes or marks the row it matched).
import { hmacSha256 } from "./crypto.ts";

export const RECOVERY_CODE_COUNT = 10;

/**
 * Crockford's base32 alphabet: digits and upper-case letters without I, L, O and U, so what is read off paper is
 * not misread, and the letters people do type for them can be mapped back (see `normaliseRecoveryCode`).
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/**
 * 10 characters of 32: 50 bits each. Guessed online they sit behind the login's rate limits; offline, a leaked
 * table is of no use without the server's secret (`recoveryCodeHash`).
 */
const CODE_LENGTH = 10;
const GROUP_LENGTH = 5;

/** Said and read alike: O for 0, I and L for 1 (Crockford's decoding rules). */
const CONFUSABLES: Record<string, string> = { O: "0", I: "1", L: "1" };
/** Whatever people type between groups: spaces, hyphens and the dashes a phone's keyboard turns them into. */
const SEPARATORS = /[\s\-‐‑‒–—―−_.]/gu;

export interface NewRecoveryCodes {
  /** Shown to the person once, as `XXXXX-XXXXX`. */
  codes: string[];
  /** What to store, one per code, in the same order. */
  hashes: Uint8Array[];
}

export async function newRecoveryCodes(secret: string, userId: string): Promise<NewRecoveryCodes> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, randomCode);
  const hashes = await Promise.all(codes.map((code) => hashOf(secret, userId, code.replace("-", ""))));
  return { codes, hashes };
}

function randomCode(): string {
  // 256 is a multiple of 32, so the low five bits of a random byte pick every character equally often.
  const characters = Array.from(crypto.getRandomValues(new Uint8Array(CODE_LENGTH)), (byte) => ALPHABET[byte & 31]);
  return `${characters.slice(0, GROUP_LENGTH).join("")}-${characters.slice(GROUP_LENGTH).join("")}`;
}

/**
 * The canonical form of a code as someone typed it (any case, full-width characters, groups split by spaces or
 * dashes or not at all, O for 0, I or L for 1), or undefined if it cannot be one of ours.
 */
export function normaliseRecoveryCode(typed: string): string | undefined {
  const canonical = Array.from(typed.normalize("NFKC").replace(SEPARATORS, "").toUpperCase(), (char) => CONFUSABLES[char] ?? char).join("");
  if (canonical.length !== CODE_LENGTH || ![...canonical].every((char) => ALPHABET.includes(char))) return undefined;
  return canonical;
}

/**
 * What to look up among the user's stored hashes for a typed code, or undefined when it is no code's shape (answer
 * as for a wrong code). An HMAC under the server's secret, bound to the user: a leaked table cannot be checked
 * offline, and one person's code is nothing for another account.
 */
export async function recoveryCodeHash(secret: string, userId: string, typed: string): Promise<Uint8Array | undefined> {
  const canonical = normaliseRecoveryCode(typed);
  return canonical === undefined ? undefined : hashOf(secret, userId, canonical);
}

function hashOf(secret: string, userId: string, canonical: string): Promise<Uint8Array> {
  return hmacSha256(secret, `recovery-code:${userId}:${canonical}`);
}
