import { describe, expect, it } from "vitest";
import { normaliseRecoveryCode, newRecoveryCodes, RECOVERY_CODE_COUNT, recoveryCodeHash } from "../../src/auth/recovery-codes.ts";

const SECRET = "a server secret of at least thirty-two characters";
const USER = "42";
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

describe("newRecoveryCodes", () => {
  it("makes ten distinct codes of two groups of five Crockford base32 characters", async () => {
    const { codes } = await newRecoveryCodes(SECRET, USER);
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(new Set(codes).size).toBe(RECOVERY_CODE_COUNT);
  });

  it("uses the whole alphabet, evenly: 50 bits a code", async () => {
    // 100 codes are 1,000 characters, about 31 of each of 32 if uniform; a narrower or skewed draw misses some
    const batches = await Promise.all(Array.from({ length: 10 }, () => newRecoveryCodes(SECRET, USER)));
    const counts = new Map<string, number>();
    for (const char of batches
      .flatMap(({ codes }) => codes)
      .join("")
      .replaceAll("-", ""))
      counts.set(char, (counts.get(char) ?? 0) + 1);
    expect([...counts.keys()].sort().join("")).toBe(CROCKFORD);
    // a binomial(1000, 1/32) count falls outside 8..60 with probability below 1e-9 per character
    for (const count of counts.values()) expect(count).toBeGreaterThanOrEqual(8);
    for (const count of counts.values()) expect(count).toBeLessThanOrEqual(60);
  });

  it("gives with each code the hash to store: the one the code is checked against when typed", async () => {
    const { codes, hashes } = await newRecoveryCodes(SECRET, USER);
    expect(hashes.map((hash) => hash.length)).toEqual(Array(RECOVERY_CODE_COUNT).fill(32));
    expect(await Promise.all(codes.map((code) => recoveryCodeHash(SECRET, USER, code)))).toEqual(hashes);
  });
});

describe("normaliseRecoveryCode", () => {
  it.each([
    ["as shown", "AB1CD-EF2GH", "AB1CDEF2GH"],
    ["lower case", "ab1cd-ef2gh", "AB1CDEF2GH"],
    ["no separator", "ab1cdef2gh", "AB1CDEF2GH"],
    ["spaces around and between", "  ab1cd ef2gh ", "AB1CDEF2GH"],
    ["an en dash from a phone keyboard", "AB1CD–EF2GH", "AB1CDEF2GH"],
    ["full-width characters", "ＡＢ１ＣＤ－ＥＦ２ＧＨ", "AB1CDEF2GH"],
    ["O for zero, I and L for one", "OOIiL-lo0ZZ", "00111100ZZ"],
  ])("accepts %s", (_, typed, canonical) => {
    expect(normaliseRecoveryCode(typed)).toBe(canonical);
  });

  it.each([
    ["too short", "AB1CD-EF2G"],
    ["too long", "AB1CD-EF2GHJ"],
    ["U, which the alphabet leaves out", "AB1CD-EF2GU"],
    ["a character outside the alphabet", "AB1CD-EF2G!"],
    ["empty", ""],
  ])("refuses %s", (_, typed) => {
    expect(normaliseRecoveryCode(typed)).toBeUndefined();
  });
});

describe("recoveryCodeHash", () => {
  it("gives one hash for every way of typing a code", async () => {
    const stored = await recoveryCodeHash(SECRET, USER, "AB1CD-EF2GH");
    expect(await recoveryCodeHash(SECRET, USER, "ab1cd ef2gh")).toEqual(stored);
    expect(await recoveryCodeHash(SECRET, USER, "abicdef2gh")).toEqual(stored);
  });

  it("is keyed by the server's secret: a leaked table cannot be checked with the code alone", async () => {
    const stored = await recoveryCodeHash(SECRET, USER, "AB1CD-EF2GH");
    expect(await recoveryCodeHash(`${SECRET}!`, USER, "AB1CD-EF2GH")).not.toEqual(stored);
    const unkeyed = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("AB1CDEF2GH")));
    expect(stored).not.toEqual(unkeyed);
  });

  it("is bound to the user: one account's code is nothing for another", async () => {
    expect(await recoveryCodeHash(SECRET, "43", "AB1CD-EF2GH")).not.toEqual(await recoveryCodeHash(SECRET, USER, "AB1CD-EF2GH"));
  });

  it("tells apart codes that differ in one character", async () => {
    expect(await recoveryCodeHash(SECRET, USER, "AB1CD-EF2GJ")).not.toEqual(await recoveryCodeHash(SECRET, USER, "AB1CD-EF2GH"));
  });

  it("has nothing to look up for what is no code's shape", async () => {
    expect(await recoveryCodeHash(SECRET, USER, "not a code")).toBeUndefined();
  });
});
