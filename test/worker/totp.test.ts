import { describe, expect, it } from "vitest";
import {
  base32Decode,
  base32Encode,
  matchTotp,
  newTotpSecret,
  TOTP_PERIOD_SECONDS,
  totpAt,
  totpStepAt,
  totpUri,
} from "../../src/auth/totp.ts";

// The key of RFC 6238 Appendix B and RFC 4226 Appendix D for HMAC-SHA-1: the ASCII of "12345678901234567890".
const RFC_SECRET = new TextEncoder().encode("12345678901234567890");

const bytes = (text: string) => new TextEncoder().encode(text);
const at = (seconds: number) => new Date(seconds * 1000);

describe("TOTP codes", () => {
  // RFC 6238 Appendix B lists 8-digit codes. Truncation ends in `mod 10^digits` (RFC 4226 §5.3), so a 6-digit
  // code is the 8-digit one mod 10^6: its last six digits (T=1 gives 287082, RFC 4226's HOTP for counter 1).
  it.each([
    [59, 1, "94287082"],
    [1111111109, 37037036, "07081804"],
    [1111111111, 37037037, "14050471"],
    [1234567890, 41152263, "89005924"],
    [2000000000, 66666666, "69279037"],
    [20000000000, 666666666, "65353130"],
  ])("RFC 6238 Appendix B, SHA-1: at %i s (T = %i) the code is the last six digits of %s", async (seconds, step, eightDigits) => {
    expect(totpStepAt(at(seconds))).toBe(step);
    expect(await totpAt(RFC_SECRET, step)).toBe(eightDigits.slice(-6));
  });

  it("RFC 4226 Appendix D: the HOTP values for counters 0 to 9", async () => {
    const codes = await Promise.all(Array.from({ length: 10 }, (_, counter) => totpAt(RFC_SECRET, counter)));
    expect(codes).toEqual(["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]);
  });

  it("encodes a counter beyond 32 bits in all 8 bytes (RFC 4226 §5.2), not only the low 4", async () => {
    // 2^32 + 1 must not be computed as 1
    expect(await totpAt(RFC_SECRET, 2 ** 32 + 1)).not.toBe(await totpAt(RFC_SECRET, 1));
  });
});

describe("matchTotp", () => {
  const now = at(1234567890);
  const step = totpStepAt(now);

  it("accepts the code of now and answers its time step", async () => {
    expect(await matchTotp(RFC_SECRET, "005924", now, { window: 1 })).toBe(step);
  });

  it.each([-1, 1])("accepts the code of a clock %i step off, answering that step (RFC 6238 §5.2)", async (skew) => {
    const code = await totpAt(RFC_SECRET, step + skew);
    expect(await matchTotp(RFC_SECRET, code, now, { window: 1 })).toBe(step + skew);
  });

  it.each([-2, 2])("refuses the code of a clock %i steps off", async (skew) => {
    const code = await totpAt(RFC_SECRET, step + skew);
    expect(await matchTotp(RFC_SECRET, code, now, { window: 1 })).toBeUndefined();
  });

  it("refuses a wrong code, and one that is not six digits", async () => {
    for (const code of ["005925", "000000", "05924", "0059240", "00592a", " 005924", ""]) {
      expect(await matchTotp(RFC_SECRET, code, now, { window: 1 }), code).toBeUndefined();
    }
  });

  it("refuses a code of another secret", async () => {
    expect(await matchTotp(bytes("another secret of twenty"), "005924", now, { window: 1 })).toBeUndefined();
  });

  it("refuses a replay: the step accepted, and every earlier one, are spent once passed as afterStep", async () => {
    const accepted = await matchTotp(RFC_SECRET, "005924", now, { window: 1 });
    expect(accepted).toBe(step);
    expect(await matchTotp(RFC_SECRET, "005924", now, { window: 1, afterStep: step })).toBeUndefined();
    expect(await matchTotp(RFC_SECRET, await totpAt(RFC_SECRET, step - 1), now, { window: 1, afterStep: step })).toBeUndefined();
    // the next step's code is still good
    const later = new Date(now.getTime() + TOTP_PERIOD_SECONDS * 1000);
    expect(await matchTotp(RFC_SECRET, await totpAt(RFC_SECRET, step + 1), later, { window: 1, afterStep: step })).toBe(step + 1);
  });
});

describe("secrets and base32", () => {
  it("draws 160 random bits", () => {
    const [first, second] = [newTotpSecret(), newTotpSecret()];
    expect(first).toHaveLength(20);
    expect(first).not.toEqual(second);
  });

  it.each([
    ["", ""],
    ["f", "MY"],
    ["fo", "MZXQ"],
    ["foo", "MZXW6"],
    ["foob", "MZXW6YQ"],
    ["fooba", "MZXW6YTB"],
    ["foobar", "MZXW6YTBOI"],
  ])("RFC 4648 §10: %j is %j without padding, and back", (text, encoded) => {
    expect(base32Encode(bytes(text))).toBe(encoded);
    expect(base32Decode(encoded)).toEqual(bytes(text));
  });

  it("round-trips every byte value", () => {
    const all = Uint8Array.from({ length: 256 }, (_, index) => index);
    expect(base32Decode(base32Encode(all))).toEqual(all);
  });

  it.each([
    ["padding", "MY======"],
    ["lower case", "my"],
    ["a character outside the alphabet", "M1"],
    ["a length no bytes encode to", "MYA"],
    ["unused trailing bits set", "MZ"],
  ])("refuses %s", (_, text) => {
    expect(base32Decode(text)).toBeUndefined();
  });
});

describe("totpUri", () => {
  const secret = bytes("12345678901234567890");

  it("is an otpauth URI with the label, secret, issuer and parameters the key URI format names", () => {
    const uri = totpUri(secret, { issuer: "Coffee Shop", account: "ada@example.com" });
    expect(uri).toBe(
      "otpauth://totp/Coffee%20Shop:ada%40example.com" +
        "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Coffee%20Shop&algorithm=SHA1&digits=6&period=30",
    );
    const parsed = new URL(uri);
    expect(parsed.protocol).toBe("otpauth:");
    expect(parsed.host).toBe("totp");
    expect(base32Decode(parsed.searchParams.get("secret") ?? "")).toEqual(secret);
  });

  it("percent-encodes issuer and account, so a colon, ampersand or space cannot change the label or the parameters", () => {
    const uri = totpUri(secret, { issuer: "Café & Co: Bar", account: "a+b:c@example.com" });
    const parsed = new URL(uri);
    const [issuer, account, ...rest] = parsed.pathname.slice(1).split(":");
    expect(rest).toEqual([]);
    expect(decodeURIComponent(issuer ?? "")).toBe("Café & Co: Bar");
    expect(decodeURIComponent(account ?? "")).toBe("a+b:c@example.com");
    expect(parsed.searchParams.get("issuer")).toBe("Café & Co: Bar");
    expect([...parsed.searchParams.keys()]).toEqual(["secret", "issuer", "algorithm", "digits", "period"]);
    expect(uri).not.toMatch(/[ +]/);
  });
});
