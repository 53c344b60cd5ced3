// Time-based one-time passwords (RFC 6238) as authenticator apps compute them: HMAC-SHA-1, 6 digits, 30 s.
//
// Built on WebCrypto rather than `otpauth` or `@oslojs/otp`: HOTP (RFC 4226) is one HMAC-SHA-1 and a dynamic
// truncation, a few lines over the runtime's native HMAC, where both libraries bring SHA-1 in JavaScript of their
// own. And neither verifier says which time step matched (otpauth answers an offset, oslo a boolean), which is
// what refusing a replayed code needs: the caller stores that step and passes it back as `afterStep`.

/** The parameters every authenticator app assumes when the URI names them, and the only ones offered. */
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
/** 160 bits: the length of an HMAC-SHA-1 key that RFC 4226 §4 recommends. */
export const TOTP_SECRET_BYTES = 20;

const encoder = new TextEncoder();

export function newTotpSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(TOTP_SECRET_BYTES));
}

// RFC 4648 §6, the alphabet authenticator apps read secrets in.
const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 without padding: how the `secret` of an otpauth URI is written. */
export function base32Encode(bytes: Uint8Array): string {
  let text = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      text += BASE32_ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) text += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return text;
}

/**
 * The bytes of what `base32Encode` wrote, or undefined for anything else: other characters, padding, a length no
 * byte string encodes to, or unused trailing bits that are not zero (so one secret has one spelling).
 */
export function base32Decode(text: string): Uint8Array | undefined {
  // 1, 3 and 6 characters past a multiple of 8 leave whole characters over that no byte needs.
  if ([1, 3, 6].includes(text.length % 8)) return undefined;
  const bytes = new Uint8Array(Math.floor((text.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let written = 0;
  for (const char of text) {
    const value = BASE32_ALPHABET.indexOf(char);
    if (value < 0) return undefined;
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes[written++] = (buffer >>> bits) & 0xff;
    }
    buffer &= (1 << bits) - 1;
  }
  return buffer === 0 ? bytes : undefined;
}

/**
 * The key URI an authenticator app scans (Google Authenticator's "Key Uri Format", which the others follow):
 * `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=ISSUER&…`. Issuer and account are percent-encoded
 * (spaces as %20, since some apps show a `+` literally), so a colon in either cannot move the label's split.
 */
export function totpUri(secret: Uint8Array, label: { issuer: string; account: string }): string {
  const issuer = encodeURIComponent(label.issuer);
  const account = encodeURIComponent(label.account);
  const parameters = [
    `secret=${base32Encode(secret)}`,
    `issuer=${issuer}`,
    "algorithm=SHA1",
    `digits=${TOTP_DIGITS}`,
    `period=${TOTP_PERIOD_SECONDS}`,
  ];
  return `otpauth://totp/${issuer}:${account}?${parameters.join("&")}`;
}

/** The RFC 6238 time step (T) that `now` falls in: whole periods since the Unix epoch. */
export function totpStepAt(now: Date): number {
  return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code an authenticator app shows during time step `step` (RFC 4226 §5.3 over the step, RFC 6238 §4). */
export async function totpAt(secret: Uint8Array, step: number): Promise<string> {
  return hotp(await hmacSha1Key(secret), step);
}

function hmacSha1Key(secret: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
}

async function hotp(key: CryptoKey, counter: number): Promise<string> {
  // the counter is 8 bytes, big-endian; a DataView takes 32 bits at a time
  const message = new DataView(new ArrayBuffer(8));
  message.setUint32(0, Math.floor(counter / 2 ** 32));
  message.setUint32(4, counter >>> 0);
  const mac = new DataView(await crypto.subtle.sign("HMAC", key, message));
  const offset = mac.getUint8(mac.byteLength - 1) & 0x0f;
  const truncated = mac.getUint32(offset) & 0x7fff_ffff;
  return String(truncated % 10 ** TOTP_DIGITS).padStart(TOTP_DIGITS, "0");
}

const TOTP_CODE = new RegExp(`^\\d{${TOTP_DIGITS}}$`);

export interface TotpMatchOptions {
  /** How many steps either side of now are also accepted, for a phone's clock that is a little off. */
  window: number;
  /** The step of the code last accepted for this secret: it and every earlier one are spent. */
  afterStep?: number;
}

/**
 * The time step whose code `code` is, among the steps within `window` of now and after `afterStep`, or undefined.
 * Every candidate is computed and compared, each in constant time, whatever matched, so the time taken tells
 * nothing about the code. The caller stores the step returned as the new `afterStep`.
 */
export async function matchTotp(
  secret: Uint8Array,
  code: string,
  now: Date,
  { window, afterStep = -Infinity }: TotpMatchOptions,
): Promise<number | undefined> {
  if (!TOTP_CODE.test(code)) return undefined;
  const typed = encoder.encode(code);
  const key = await hmacSha1Key(secret);
  const current = totpStepAt(now);
  let matched: number | undefined;
  for (let step = current - window; step <= current + window; step++) {
    const expected = encoder.encode(await hotp(key, step));
    // Workers' own constant-time comparison; both sides are TOTP_DIGITS ASCII digits, so lengths agree.
    if (crypto.subtle.timingSafeEqual(expected, typed) && step > afterStep && matched === undefined) matched = step;
  }
  return matched;
}
