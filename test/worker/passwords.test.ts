import { hash as bcryptHash } from "bcryptjs";
import { describe, expect, it, vi } from "vitest";
import { hashPassword, spendPasswordCheckTime, verifyPassword } from "../../src/auth/passwords.ts";
import { chainedPbkdf2, importPbkdf2Key, pbkdf2Block, type ChainParams } from "../../src/auth/pbkdf2.ts";

const PASSWORD = "correct horse battery staple";
const CURRENT_FORMAT = /^\$pbkdf2-sha256\$v=1\$i=600000,c=100000\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

const VALID_CURRENT = { valid: true, needsRehash: false };
const VALID_OUTDATED = { valid: true, needsRehash: true };
const INVALID = { valid: false, needsRehash: false };

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

/** Builds a stored string by the documented format, independently of the module's own formatter. */
async function encodeByHand(password: string, params: ChainParams, id: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await chainedPbkdf2(new TextEncoder().encode(password.normalize("NFKC")), salt, params);
  return `$pbkdf2-${id}$v=1$i=${params.iterations},c=${params.perCall}$${base64(salt)}$${base64(hash)}`;
}

/** Replaces one character of the given `$`-separated field with a different base64 character. */
function tamper(encoded: string, field: number): string {
  const parts = encoded.split("$");
  const value = parts[field] ?? "";
  parts[field] = (value[0] === "A" ? "B" : "A") + value.slice(1);
  return parts.join("$");
}

interface DeriveBitsCall {
  name: string;
  iterations?: number;
  hash?: unknown;
}

/**
 * Records the algorithm of every real `crypto.subtle.deriveBits` call made while `work` runs. The real function
 * still runs: this observes the runtime, it does not replace it.
 */
async function deriveBitsCalls(work: () => Promise<unknown>): Promise<DeriveBitsCall[]> {
  const spy = vi.spyOn(crypto.subtle, "deriveBits");
  try {
    await work();
    return spy.mock.calls.map(([algorithm]) => {
      if (typeof algorithm === "string") return { name: algorithm };
      return { name: algorithm.name, iterations: algorithm.iterations, hash: algorithm.hash };
    });
  } finally {
    spy.mockRestore();
  }
}

describe("hashPassword and verifyPassword", () => {
  it("round-trips in the versioned format at the current parameters", async () => {
    const encoded = await hashPassword(PASSWORD);
    expect(encoded).toMatch(CURRENT_FORMAT);
    expect(await verifyPassword(PASSWORD, encoded)).toEqual(VALID_CURRENT);
  });

  it("rejects a wrong password", async () => {
    const encoded = await hashPassword(PASSWORD);
    expect(await verifyPassword("correct horse battery stapler", encoded)).toEqual(INVALID);
    expect(await verifyPassword("", encoded)).toEqual(INVALID);
  });

  it("salts every hash, so one password never gives the same string twice", async () => {
    const [first, second] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)]);
    expect(first).not.toBe(second);
    expect(first?.split("$")[4]).not.toBe(second?.split("$")[4]);
  });

  it("normalises with NFKC: composed and decomposed accents, full-width letters are the same password", async () => {
    const composed = "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e";
    const decomposed = composed.normalize("NFD");
    expect(decomposed).not.toBe(composed);
    const encoded = await hashPassword(composed);
    expect(await verifyPassword(decomposed, encoded)).toEqual(VALID_CURRENT);

    const fullWidth = "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44"; // ｐａｓｓｗｏｒｄ
    expect(await verifyPassword("password", await hashPassword(fullWidth))).toEqual(VALID_CURRENT);
  });

  it("still tells different non-ASCII passwords apart", async () => {
    const encoded = await hashPassword("\u00fcber-geheim-\u{1f511}");
    expect(await verifyPassword("uber-geheim-\u{1f511}", encoded)).toEqual(INVALID);
    expect(await verifyPassword("\u00fcber-geheim-\u{1f510}", encoded)).toEqual(INVALID);
    expect(await verifyPassword("\u00fcber-geheim-\u{1f511}", encoded)).toEqual(VALID_CURRENT);
  });

  it("rejects a tampered hash, salt, iteration count or per-call count", async () => {
    const encoded = await hashPassword(PASSWORD);
    expect(await verifyPassword(PASSWORD, tamper(encoded, 5))).toEqual(INVALID);
    expect(await verifyPassword(PASSWORD, tamper(encoded, 4))).toEqual(INVALID);
    expect(await verifyPassword(PASSWORD, encoded.replace("i=600000", "i=500000"))).toEqual(INVALID);
    expect(await verifyPassword(PASSWORD, encoded.replace("i=600000", "i=700000"))).toEqual(INVALID);
    expect(await verifyPassword(PASSWORD, encoded.replace("c=100000", "c=50000"))).toEqual(INVALID);
    expect(await verifyPassword(PASSWORD, encoded.replace("sha256", "sha512"))).toEqual(INVALID);
  });

  it("verifies weaker PBKDF2 parameters and asks for a rehash", async () => {
    const weakParams: ChainParams = { digest: "SHA-256", iterations: 100_000, perCall: 100_000 };
    const weak = await encodeByHand(PASSWORD, weakParams, "sha256");
    expect(await verifyPassword(PASSWORD, weak)).toEqual(VALID_OUTDATED);
    expect(await verifyPassword("wrong password", weak)).toEqual(INVALID);

    const sha512Params: ChainParams = { digest: "SHA-512", iterations: 210_000, perCall: 70_000 };
    const otherDigest = await encodeByHand(PASSWORD, sha512Params, "sha512");
    expect(await verifyPassword(PASSWORD, otherDigest)).toEqual(VALID_OUTDATED);
  });

  it("accepts the current work split into smaller calls without a rehash", async () => {
    const split = await encodeByHand(PASSWORD, { digest: "SHA-256", iterations: 600_000, perCall: 40_000 }, "sha256");
    expect(await verifyPassword(PASSWORD, split)).toEqual(VALID_CURRENT);
  });

  it("answers false, without throwing, for stored strings it does not understand", async () => {
    const encoded = await hashPassword(PASSWORD);
    const [, , , , salt = "", hash = ""] = encoded.split("$");
    const garbage = [
      "",
      "   ",
      "not a hash",
      PASSWORD,
      "$",
      "$$$$$",
      "$pbkdf2-sha256",
      "$pbkdf2-sha256$v=1$i=600000,c=100000$$",
      `$pbkdf2-sha256$v=1$i=0,c=100000$${salt}$${hash}`,
      `$pbkdf2-sha256$v=1$i=600000,c=0$${salt}$${hash}`,
      `$pbkdf2-sha256$v=1$i=0600000,c=100000$${salt}$${hash}`,
      `$pbkdf2-sha256$v=1$i=-600000,c=100000$${salt}$${hash}`,
      `$pbkdf2-sha256$v=1$i=6e5,c=100000$${salt}$${hash}`,
      `$pbkdf2-sha256$v=1$i=99999999,c=100000$${salt}$${hash}`, // hours of CPU: corrupt, not a future parameter
      `$pbkdf2-sha256$v=1$i=600000,c=100001$${salt}$${hash}`, // more per call than production Workers allow
      `$pbkdf2-sha256$v=2$i=600000,c=100000$${salt}$${hash}`,
      `$pbkdf2-md5$v=1$i=600000,c=100000$${salt}$${hash}`,
      `$pbkdf2-sha256$v=1$i=600000$${salt}$${hash}`,
      `$pbkdf2-sha256$v=1$i=600000,c=100000$${salt}==$${hash}=`,
      `$pbkdf2-sha256$v=1$i=600000,c=100000$${salt}$${hash.slice(0, -4)}`,
      `$pbkdf2-sha256$v=1$i=600000,c=100000$${salt}!$${hash}`,
      `$pbkdf2-sha256$v=1$i=600000,c=100000$${salt}$${hash}$extra`,
      `${encoded}\n`,
      // passlib's own pbkdf2_sha256 format, which the old service did not use
      "$pbkdf2-sha256$29000$N2YMIWQsBWBMae09x1jrPQ$1t8iyB2A.WF/Z5JZv.lfCIhXXN33N23OSgQYThBYRfk",
      "$2b$12$short",
      "$2b$12$" + "!".repeat(53),
      "$2b$31$" + "a".repeat(53), // cost 31 would run for days
      "$2c$12$Ro0CUfOqk6cXEKf3dyaM7O0YowbpYS2gMk.mznlKcGdBVd8QCqYjO",
      "$2b$03$Ro0CUfOqk6cXEKf3dyaM7O0YowbpYS2gMk.mznlKcGdBVd8QCqYjO",
      "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
    ];
    for (const stored of garbage) {
      expect(await verifyPassword(PASSWORD, stored), stored).toEqual(INVALID);
    }
  });
});

describe("bcrypt hashes imported from the old service", () => {
  it("verifies a bcryptjs hash of cost 4 and asks for a rehash", async () => {
    const encoded = await bcryptHash(PASSWORD, 4);
    expect(encoded).toMatch(/^\$2b\$04\$/);
    expect(await verifyPassword(PASSWORD, encoded)).toEqual(VALID_OUTDATED);
    expect(await verifyPassword("wrong password", encoded)).toEqual(INVALID);
  });

  it("verifies real $2b$ (cost 12), $2a$ and $2y$ hashes made by crypt_blowfish", async () => {
    // libxcrypt's crypt(3), the bcrypt passlib falls back to; the U*U vectors are Openwall's published ones.
    const cost12 = "$2b$12$Ro0CUfOqk6cXEKf3dyaM7O0YowbpYS2gMk.mznlKcGdBVd8QCqYjO";
    expect(await verifyPassword(PASSWORD, cost12)).toEqual(VALID_OUTDATED);
    expect(await verifyPassword("Correct horse battery staple", cost12)).toEqual(INVALID);
    for (const prefix of ["$2a$", "$2y$"]) {
      const openwall = `${prefix}05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW`;
      expect(await verifyPassword("U*U", openwall)).toEqual(VALID_OUTDATED);
    }
  });

  it("checks a non-ASCII password exactly as the old service hashed it, then rehashes it normalised", async () => {
    const composed = "p\u00e4ssw\u00f6rd";
    const imported = "$2b$04$abcdefghijklmnopqrstuuyx2n0Zzopyr9QuYTMCfOJJOj526QVoC"; // crypt(3) of the UTF-8 bytes
    expect(await verifyPassword(composed, imported)).toEqual(VALID_OUTDATED);
    // passlib never normalised, so the decomposed spelling is a different bcrypt password...
    expect(await verifyPassword(composed.normalize("NFD"), imported)).toEqual(INVALID);
    // ...until the login rehashes it, after which both spellings match.
    const rehashed = await hashPassword(composed);
    expect(await verifyPassword(composed.normalize("NFD"), rehashed)).toEqual(VALID_CURRENT);
  });
});

describe("spendPasswordCheckTime", () => {
  it("does exactly the PBKDF2 work of verifying against a current hash", async () => {
    const encoded = await hashPassword(PASSWORD);
    const verifying = await deriveBitsCalls(() => verifyPassword("a wrong guess", encoded));
    const spending = await deriveBitsCalls(() => spendPasswordCheckTime("a wrong guess"));
    expect(spending).toEqual(verifying);
    expect(spending).toHaveLength(6);
    await expect(spendPasswordCheckTime(PASSWORD)).resolves.toBeUndefined();
  });
});

describe("the 100,000-iterations-per-call cap of production Workers", () => {
  it("is enforced by the deriveBits wrapper", async () => {
    const key = await importPbkdf2Key(new TextEncoder().encode(PASSWORD));
    const salt = new Uint8Array(16);
    await expect(pbkdf2Block(key, salt, 100_001, "SHA-256")).rejects.toThrow(
      /iterations per deriveBits call must be 1 to 100000 \(production Workers refuse more\); got 100001/,
    );
    await expect(pbkdf2Block(key, salt, 100_001, "SHA-256")).rejects.toBeInstanceOf(RangeError);
    await expect(pbkdf2Block(key, salt, 0, "SHA-256")).rejects.toBeInstanceOf(RangeError);
    await expect(pbkdf2Block(key, salt, 100_000, "SHA-256")).resolves.toHaveLength(32);
  });

  it("is never exceeded by hashing, verifying or spending check time, which each do 600,000 in total", async () => {
    let encoded = "";
    const operations = {
      hash: await deriveBitsCalls(async () => {
        encoded = await hashPassword(PASSWORD);
      }),
      verify: await deriveBitsCalls(() => verifyPassword(PASSWORD, encoded)),
      verifyWrong: await deriveBitsCalls(() => verifyPassword("wrong", encoded)),
      spend: await deriveBitsCalls(() => spendPasswordCheckTime(PASSWORD)),
    };
    for (const [name, calls] of Object.entries(operations)) {
      expect(calls.length, name).toBeGreaterThan(0);
      for (const call of calls) {
        expect(call.name, name).toBe("PBKDF2");
        expect(call.iterations, name).toBeLessThanOrEqual(100_000);
        expect(call.hash, name).toBe("SHA-256");
      }
      expect(
        calls.reduce((total, call) => total + (call.iterations ?? 0), 0),
        name,
      ).toBe(600_000);
    }
  });

  it("splits a chain into calls of at most the per-call count, the last one taking the rest", async () => {
    const calls = await deriveBitsCalls(() =>
      chainedPbkdf2(new TextEncoder().encode(PASSWORD), new Uint8Array(16), {
        digest: "SHA-256",
        iterations: 250_000,
        perCall: 100_000,
      }),
    );
    expect(calls.map((call) => call.iterations)).toEqual([100_000, 100_000, 50_000]);
  });

  it("refuses a chain whose per-call count is above the cap before deriving anything", async () => {
    const calls = await deriveBitsCalls(async () => {
      await expect(
        chainedPbkdf2(new TextEncoder().encode(PASSWORD), new Uint8Array(16), {
          digest: "SHA-256",
          iterations: 600_000,
          perCall: 200_000,
        }),
      ).rejects.toBeInstanceOf(RangeError);
    });
    expect(calls).toEqual([]);
  });
});

describe("the chained construction", () => {
  const encoder = new TextEncoder();

  it("is plain PBKDF2 when the work fits in one call (RFC 7914 section 11 vector)", async () => {
    const derived = await chainedPbkdf2(encoder.encode("Password"), encoder.encode("NaCl"), {
      digest: "SHA-256",
      iterations: 80_000,
      perCall: 100_000,
    });
    // The RFC asks for 64 bytes; one call yields the first 32, which do not depend on the length asked for.
    expect(hex(derived)).toBe("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56");
  });

  it("salts each later call with the previous call's output, keyed by the password", async () => {
    const derived = await chainedPbkdf2(encoder.encode("password"), encoder.encode("salt"), {
      digest: "SHA-256",
      iterations: 4096,
      perCall: 2048,
    });
    // Python: pbkdf2_hmac("sha256", b"password", pbkdf2_hmac("sha256", b"password", b"salt", 2048), 2048)
    expect(hex(derived)).toBe("09ec1dd80eb1ad058320b018e7ae5e48ba1ea3ab1217b1998a2167aa6cfb3858");
  });
});
