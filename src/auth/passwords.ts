// Password hashing: PBKDF2 in a versioned encoding, plus bcrypt hashes imported from the old FastAPI service
// (`npm run users -- import`), every check of either costing the same while any imported hash remains.
import { bcrypt } from "./bcrypt.ts";
import { chainedPbkdf2, DIGEST_BYTES, MAX_ITERATIONS_PER_CALL, type ChainParams, type Pbkdf2Digest } from "./pbkdf2.ts";

export interface PasswordCheck {
  valid: boolean;
  /** Right password, but the stored hash is bcrypt or below the current parameters: store hashPassword(password). */
  needsRehash: boolean;
}

/**
 * OWASP's Password Storage Cheat Sheet level for PBKDF2-HMAC-SHA256, as six calls of 100,000. OWASP rates it equal
 * to PBKDF2-HMAC-SHA512 at 210,000, but in workerd SHA-256 costs less for that level (about 70 ms per check against
 * about 100 ms; `npm run bench`), so the same login CPU buys the same attacker cost for less, and 600,000 splits
 * evenly into the per-call cap.
 */
const CURRENT: ChainParams = { digest: "SHA-256", iterations: 600_000, perCall: MAX_ITERATIONS_PER_CALL };
const SALT_BYTES = 16;

/**
 * Above this a stored hash is corrupt rather than a future parameter (about a second of CPU in workerd); refusing it
 * keeps a bad row from pinning the Worker until its CPU limit.
 */
const MAX_STORED_ITERATIONS = 10_000_000;
/** bcrypt cost 12 (passlib's default, so the old service's) takes about 240 ms in workerd; 14 about 1 s. */
const MAX_BCRYPT_COST = 14;

/**
 * While imported hashes remain, every password check runs one bcrypt at this cost and one PBKDF2 at the current
 * parameters, whatever the stored hash: see `verifyPassword`. The old service's cost (passlib's default), so a hash
 * imported from it takes exactly as long to check as any other; one of another cost is checked at its own.
 */
export const BCRYPT_CHECK_COST = 12;

const INVALID: PasswordCheck = { valid: false, needsRehash: false };

/**
 * Compares without stopping at the first difference, so the time taken says nothing about how much
 * matched. Plain code rather than Workers' `crypto.subtle.timingSafeEqual`, so the command-line tools
 * can run this module on Node too.
 */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await chainedPbkdf2(passwordBytes(password), salt, CURRENT);
  return formatPbkdf2({ ...CURRENT, salt, hash });
}

/*
 * What a check costs, and why it can cost more. A hash imported from the old service is bcrypt at cost 12, about
 * 240 ms in workerd against about 63 ms for PBKDF2 at 600,000, so a login taking four times as long would tell
 * anyone timing it "this address is an old account that has not logged in since the move", where an unknown
 * address and a wrong password are meant to look alike. While any such hash remains (`ImportedHashes`: the
 * database says so with every read of a password holder), every check runs one bcrypt and one PBKDF2, one of them
 * against a stand-in whose answer is ignored: the same two functions at the same parameters on every path, which
 * costs the same on any machine under any load. Once none remains, a check is one PBKDF2, whatever the address.
 *
 * The bcrypt cannot be made cheaper. The import never sees a password, so whatever it stores is computed from the
 * bcrypt hash, and a check must recompute bcrypt(password, salt) to compare with it. Nor can a cheap check wait
 * out the difference: a Worker's clock stands still while it computes, so it cannot tell how long to wait.
 */

/** Whether imported bcrypt hashes remain anywhere: then every check also pays for one bcrypt. */
export type ImportedHashes = "remain" | "none";

/** Never throws for a bad stored string: anything not recognised is simply not a match, at once. */
export async function verifyPassword(password: string, encoded: string, imported: ImportedHashes = "none"): Promise<PasswordCheck> {
  const bcrypt = bcryptCost(encoded) === undefined ? undefined : encoded;
  const pbkdf2 = bcrypt === undefined ? parsePbkdf2(encoded) : undefined;
  if (bcrypt === undefined && pbkdf2 === undefined) return INVALID;
  const padded = imported === "remain";
  const bcryptValid = bcrypt !== undefined || padded ? await bcryptMatches(password, bcrypt ?? STAND_IN_BCRYPT) : false;
  const pbkdf2Valid = pbkdf2 !== undefined || padded ? await pbkdf2Matches(password, pbkdf2 ?? STAND_IN_PBKDF2) : false;
  // a bcrypt hash is the old service's: the login stores hashPassword(password) in its place
  if (pbkdf2 === undefined) return { valid: bcryptValid, needsRehash: bcryptValid };
  return { valid: pbkdf2Valid, needsRehash: pbkdf2Valid && isOutdated(pbkdf2) };
}

// Deriving costs the same whatever bytes the stored hash holds, and the result is thrown away, so zeros will do.
const STAND_IN_PBKDF2: Pbkdf2Hash = {
  ...CURRENT,
  salt: new Uint8Array(SALT_BYTES),
  hash: new Uint8Array(DIGEST_BYTES[CURRENT.digest]),
};
// Likewise for bcrypt: a well-formed hash (a zero salt, a zero digest no password gives) at the check cost.
const STAND_IN_BCRYPT = `$2b$${BCRYPT_CHECK_COST}$${".".repeat(53)}`;

const UNKNOWN_USER_HASH = formatPbkdf2(STAND_IN_PBKDF2);

/** The work of checking a password, for a login whose email is unknown, so it costs the same. */
export async function spendPasswordCheckTime(password: string, imported: ImportedHashes = "none"): Promise<void> {
  await verifyPassword(password, UNKNOWN_USER_HASH, imported);
}

/**
 * NFKC, as NIST SP 800-63B asks, so the same password typed on another keyboard or OS (composed or decomposed
 * accents, full-width letters) still matches.
 */
function passwordBytes(password: string): Uint8Array {
  return new TextEncoder().encode(password.normalize("NFKC"));
}

// passlib wrote `$2b$`; `$2a$` and `$2y$` come from other bcrypt implementations and verify the same way.
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** The cost of a bcrypt hash this module can check, or undefined for any other string (the import's test too). */
export function bcryptCost(encoded: string): number | undefined {
  const match = BCRYPT.exec(encoded);
  const cost = Number(match?.[1]);
  return match && cost >= 4 && cost <= MAX_BCRYPT_COST ? cost : undefined;
}

async function bcryptMatches(password: string, encoded: string): Promise<boolean> {
  // The old service hashed the password as typed, so it is not normalised here; the rehash normalises it.
  return bcrypt.compare(password, encoded);
}

async function pbkdf2Matches(password: string, stored: Pbkdf2Hash): Promise<boolean> {
  const derived = await chainedPbkdf2(passwordBytes(password), stored.salt, stored);
  return constantTimeEqual(derived, stored.hash);
}

interface Pbkdf2Hash extends ChainParams {
  salt: Uint8Array;
  hash: Uint8Array;
}

function isOutdated(stored: Pbkdf2Hash): boolean {
  return stored.digest !== CURRENT.digest || stored.iterations < CURRENT.iterations || stored.salt.length < SALT_BYTES;
}

/*
 * The PHC string format: `$pbkdf2-sha256$v=1$i=600000,c=100000$<salt>$<hash>`, base64 without padding.
 * v=1 is this construction: NFKC, UTF-8, then `chainedPbkdf2` with i iterations in total, c per call.
 */
const DIGESTS = new Map<string, Pbkdf2Digest>([
  ["sha256", "SHA-256"],
  ["sha512", "SHA-512"],
]);
const PBKDF2 = /^\$pbkdf2-(\w+)\$v=1\$i=([1-9]\d{0,7}),c=([1-9]\d{0,5})\$([^$]+)\$([^$]+)$/;

function formatPbkdf2({ digest, iterations, perCall, salt, hash }: Pbkdf2Hash): string {
  const id = digest.replace("-", "").toLowerCase();
  return `$pbkdf2-${id}$v=1$i=${iterations},c=${perCall}$${toBase64(salt)}$${toBase64(hash)}`;
}

function parsePbkdf2(encoded: string): Pbkdf2Hash | undefined {
  const match = PBKDF2.exec(encoded);
  if (!match) return undefined;
  const [, id = "", i, c, salt64 = "", hash64 = ""] = match;
  const digest = DIGESTS.get(id);
  const iterations = Number(i);
  const perCall = Number(c);
  const salt = fromBase64(salt64);
  const hash = fromBase64(hash64);
  if (!digest || !salt || !hash || hash.length !== DIGEST_BYTES[digest]) return undefined;
  if (iterations > MAX_STORED_ITERATIONS || perCall > MAX_ITERATIONS_PER_CALL) return undefined;
  return { digest, iterations, perCall, salt, hash };
}

// PHC strings use the standard base64 alphabet (jose's encoder is base64url), and the runtimes here have no
// Uint8Array.toBase64 yet.
function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  // atob ignores the unused low bits of the last character; only the canonical spelling keeps one hash one string.
  return toBase64(bytes) === text ? bytes : undefined;
}
