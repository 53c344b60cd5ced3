// PBKDF2 through the runtime's WebCrypto, in calls small enough for production Workers.

/**
 * Production Workers reject a PBKDF2 `deriveBits` call above this ("Pbkdf2 failed: iteration counts above 100000
 * are not supported", workerd issue 1346), but open-source workerd (wrangler dev, the tests) does not, so a larger
 * call would pass every local run and fail every login in production. The cap is therefore enforced here.
 */
export const MAX_ITERATIONS_PER_CALL = 100_000;

export type Pbkdf2Digest = "SHA-256" | "SHA-512";

/** Output of one PBKDF2 call: exactly one block of the digest (see `chainedPbkdf2` for why one). */
export const DIGEST_BYTES: Record<Pbkdf2Digest, number> = { "SHA-256": 32, "SHA-512": 64 };

export interface ChainParams {
  digest: Pbkdf2Digest;
  /** Total PBKDF2 iterations across all calls: the work an attacker pays per guess. */
  iterations: number;
  /** Iterations per `deriveBits` call, at most MAX_ITERATIONS_PER_CALL. */
  perCall: number;
}

export function importPbkdf2Key(password: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
}

/** The only PBKDF2 `deriveBits` call in the Worker, so the production cap cannot be bypassed by accident. */
export async function pbkdf2Block(key: CryptoKey, salt: Uint8Array, iterations: number, digest: Pbkdf2Digest): Promise<Uint8Array> {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS_PER_CALL) {
    throw new RangeError(
      `PBKDF2 iterations per deriveBits call must be 1 to ${MAX_ITERATIONS_PER_CALL} ` +
        `(production Workers refuse more); got ${iterations}`,
    );
  }
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: digest, salt, iterations }, key, DIGEST_BYTES[digest] * 8);
  return new Uint8Array(bits);
}

/**
 * PBKDF2 of `iterations` in total as consecutive calls of at most `perCall` iterations: every call is keyed by the
 * password, the first is salted with the salt and each later one with the previous call's output.
 *
 * An attacker pays the full count per guess: each call is `perCall` sequential HMACs keyed by the guess, its output
 * is pseudorandom and is needed before the next call can start, so no HMAC can be skipped, and since the first
 * call is salted and every call keyed by the guess, no work carries over between guesses or accounts. Each call
 * returns exactly one digest-sized block; a longer output would make us compute extra blocks an attacker who checks
 * only the first one skips.
 */
export async function chainedPbkdf2(password: Uint8Array, salt: Uint8Array, params: ChainParams): Promise<Uint8Array> {
  // Zero rounds would hand back the salt as the hash.
  if (!Number.isSafeInteger(params.iterations) || params.iterations < 1) {
    throw new RangeError(`PBKDF2 needs at least one iteration; got ${params.iterations}`);
  }
  const key = await importPbkdf2Key(password);
  let block = salt;
  for (let done = 0; done < params.iterations; done += params.perCall) {
    block = await pbkdf2Block(key, block, Math.min(params.perCall, params.iterations - done), params.digest);
  }
  return block;
}
