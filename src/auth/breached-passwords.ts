// Whether a password is known from breaches, by Have I Been Pwned's Pwned Passwords range API (k-anonymity): only
// the first 5 hex digits of the password's SHA-1 leave the Worker, and the answer lists every breached hash
// sharing them, so the service never learns which one, or whether any, was ours.
//
// WebCrypto's SHA-1 and fetch are all it takes; no library needed.

export type BreachCheck =
  | { breached: true; count: number }
  | { breached: false }
  /** Could not tell (timeout, network error, an unexpected answer): the caller lets the password through and logs it. */
  | { breached: undefined; reason: string };

export interface BreachCheckOptions {
  /** The range endpoint, without the prefix: `https://api.pwnedpasswords.com/range` or the local services' `…/range`. */
  rangeUrl: string;
  /** The check gives up after this long, the reading of the answer included. */
  timeoutMs: number;
  /** For tests; the runtime's fetch otherwise. */
  fetch?: typeof fetch;
}

const PREFIX_LENGTH = 5;
// A suffix is the other 35 hex digits of the SHA-1; the count how often the password was seen (0 for padding).
const ANSWER_LINE = /^([0-9A-F]{35}):(\d+)$/;

export async function checkBreached(password: string, options: BreachCheckOptions): Promise<BreachCheck> {
  // NFKC, as the password is hashed for storage (passwords.ts): the password the API will accept is the one checked
  const hash = await sha1Hex(password.normalize("NFKC"));
  const prefix = hash.slice(0, PREFIX_LENGTH);
  const suffix = hash.slice(PREFIX_LENGTH);
  const send = options.fetch ?? fetch;
  const deadline = AbortSignal.timeout(options.timeoutMs);
  let body: string;
  try {
    const response = await send(`${options.rangeUrl}/${prefix}`, {
      // The answer is padded to 800-1,000 lines with count-0 entries, so its size does not tell the prefix either.
      headers: { "Add-Padding": "true" },
      signal: deadline,
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      return { breached: undefined, reason: `the range API answered ${response.status}` };
    }
    body = await response.text();
  } catch {
    return {
      breached: undefined,
      reason: deadline.aborted ? `no answer within ${options.timeoutMs} ms` : "the range API could not be reached",
    };
  }
  return findSuffix(body, suffix);
}

function findSuffix(body: string, suffix: string): BreachCheck {
  for (const line of body.split(/\r?\n/)) {
    if (line === "") continue;
    const match = ANSWER_LINE.exec(line.toUpperCase());
    // Anything else is no range answer (a proxy's error page, say): it cannot tell us the password is safe.
    if (!match) return { breached: undefined, reason: "the range API's answer was not a list of hash suffixes" };
    const count = Number(match[2]);
    if (match[1] === suffix && count > 0) return { breached: true, count };
  }
  return { breached: false };
}

async function sha1Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
}
