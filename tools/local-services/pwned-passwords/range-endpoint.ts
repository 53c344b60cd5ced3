// A stand-in for Have I Been Pwned's Pwned Passwords range API (GET https://api.pwnedpasswords.com/range/{prefix}),
// so a password check works offline, in `npm run dev` and in the tests: the same request, the same answer format.
import { createHash, randomBytes, randomInt } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { emptyReply, HttpError, jsonReply, textReply, type Handler } from "../http-reply.ts";
import { headerValue, readJsonBody } from "../request-body.ts";
import { createRangeFaults } from "./range-faults.ts";

/**
 * The passwords this service knows as breached, with how often each was "seen" (made-up counts). Common enough that
 * a developer trying the API thinks of them; "correct horse battery staple", the tests' good password, is not one.
 */
export const KNOWN_BREACHED_PASSWORDS: ReadonlyMap<string, number> = new Map([
  ["password", 52_256_179],
  ["123456", 209_972_844],
  ["qwerty123", 5_307_865],
  ["P@ssw0rd", 181_107],
  ["iloveyou1", 398_104],
  ["coffee123", 11_425],
]);

export const RANGE_ROUTE = "GET /range/{prefix}";
const RANGE_PATH = /^\/range\/(.*)$/;

// The real service pads each answer to a random 800 to 1,000 lines when asked (Add-Padding: true).
const PADDED_MIN_LINES = 800;
const PADDED_MAX_LINES = 1000;

export interface PwnedPasswords {
  /** GET /range/{prefix}: the suffixes of known breached SHA-1 hashes that start with the prefix, `SUFFIX:COUNT`. */
  range: Handler;
  /** POST /range/faults {"mode": "status" | "hang" | "drop", "count"?, "status"?, "ms"?, "prefix"?}: see range-faults.ts. */
  armFault: Handler;
  /** DELETE /range/faults. */
  clearFault: Handler;
}

export function createPwnedPasswords(): PwnedPasswords {
  const suffixesByPrefix = new Map<string, string[]>();
  for (const [password, count] of KNOWN_BREACHED_PASSWORDS) {
    const hash = createHash("sha1").update(password, "utf8").digest("hex").toUpperCase();
    const lines = suffixesByPrefix.get(hash.slice(0, 5)) ?? [];
    suffixesByPrefix.set(hash.slice(0, 5), [...lines, `${hash.slice(5)}:${count}`]);
  }
  const faults = createRangeFaults();
  return {
    range: async (request, url) => {
      const prefix = RANGE_PATH.exec(url.pathname)?.[1] ?? "";
      // as the real service answers a prefix that is not 5 hex digits (it takes either case)
      if (!/^[0-9A-Fa-f]{5}$/.test(prefix)) throw new HttpError(400, "The hash prefix was not in a valid format");
      const fault = faults.effectFor(prefix.toUpperCase());
      if (fault.kind === "status") return textReply(fault.status, "Fault injected by the local services");
      if (fault.kind === "drop") return { ...emptyReply(), drop: true };
      if (fault.kind === "hold") await delay(fault.ms);
      const lines = suffixesByPrefix.get(prefix.toUpperCase()) ?? [];
      const padded = headerValue(request, "Add-Padding") === "true" ? withPadding(lines) : lines;
      return textReply(200, padded.join("\r\n"));
    },
    armFault: async (request) => jsonReply(200, faults.arm(await readJsonBody(request))),
    clearFault: async () => {
      faults.clear();
      return emptyReply();
    },
  };
}

/** The lines among count-0 lines of random suffixes, all sorted as the real answer is, so padding is not told by place. */
function withPadding(lines: string[]): string[] {
  const total = randomInt(PADDED_MIN_LINES, PADDED_MAX_LINES + 1);
  const padding = Array.from({ length: total - lines.length }, () => `${randomBytes(18).toString("hex").slice(0, 35).toUpperCase()}:0`);
  return [...lines, ...padding].sort();
}

/** The route a request is counted and dispatched under: the range path carries its prefix. */
export function rangeRouteOf(method: string | undefined, pathname: string): string | undefined {
  return method === "GET" && RANGE_PATH.test(pathname) ? RANGE_ROUTE : undefined;
}
