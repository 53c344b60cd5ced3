// The range endpoint's fault switch, as sql-faults.ts is the SQL endpoint's: what a test arms to see a password
// check meet a slow, failing or unreachable Have I Been Pwned.
import { HttpError } from "../http-reply.ts";
import { isRecord } from "../request-body.ts";

export type RangeFaultMode = "status" | "hang" | "drop";

export interface RangeFault {
  mode: RangeFaultMode;
  /** How many requests it hits before it disarms itself. */
  remaining: number;
  /** Only requests for this hash prefix (upper case), so parallel tests do not meet it. */
  prefix: string | undefined;
  /** For `status`: the HTTP status answered (4xx or 5xx: the real service answers 429 and 503 too). */
  status: number;
  /** For `hang`: how long a request is held before it is answered normally. */
  holdMs: number;
}

/** What the endpoint must do with one request under the armed fault. */
export type RangeFaultEffect = { kind: "none" } | { kind: "status"; status: number } | { kind: "hold"; ms: number } | { kind: "drop" };

export interface RangeFaults {
  arm(body: unknown): RangeFault;
  clear(): void;
  /** Takes the effect for a request of `prefix`, counting it against the fault. */
  effectFor(prefix: string): RangeFaultEffect;
}

export function createRangeFaults(): RangeFaults {
  let fault: RangeFault | undefined;
  return {
    arm(body) {
      fault = parseFault(body);
      return fault;
    },
    clear() {
      fault = undefined;
    },
    effectFor(prefix) {
      if (!fault || fault.remaining <= 0 || (fault.prefix !== undefined && fault.prefix !== prefix)) return { kind: "none" };
      fault.remaining -= 1;
      switch (fault.mode) {
        case "status":
          return { kind: "status", status: fault.status };
        case "hang":
          return { kind: "hold", ms: fault.holdMs };
        case "drop":
          return { kind: "drop" };
      }
    },
  };
}

const MODES: RangeFaultMode[] = ["status", "hang", "drop"];

function parseFault(body: unknown): RangeFault {
  const mode = isRecord(body) ? MODES.find((candidate) => candidate === body.mode) : undefined;
  if (!isRecord(body) || mode === undefined) {
    throw new HttpError(422, `Body must be {"mode": ${MODES.map((name) => `"${name}"`).join(" | ")}, ...}`);
  }
  const number = (key: string, fallback: number) => {
    const value = body[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new HttpError(422, `"${key}" must be a whole number`);
    return value;
  };
  const prefix = body.prefix;
  if (prefix !== undefined && (typeof prefix !== "string" || !/^[0-9A-Fa-f]{5}$/.test(prefix))) {
    throw new HttpError(422, '"prefix" must be 5 hex digits');
  }
  const status = number("status", 503);
  if (status < 400 || status > 599) throw new HttpError(422, '"status" must be a 4xx or 5xx status');
  return { mode, remaining: number("count", 1), prefix: prefix?.toUpperCase(), status, holdMs: number("ms", 30_000) };
}
