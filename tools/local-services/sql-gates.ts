// Gates: what a test arms to force an interleaving. A gate stops one request of one database user at a
// chosen point, before it runs or inside its transaction after some of its statements, until the test
// releases it; meanwhile the test runs whatever must come between. Tooling only, like the faults.
import { HttpError } from "./http-reply.ts";
import { isRecord } from "./request-body.ts";

/** Where a request waits: before its statement `beforeStatement` (0: before it starts; N: after N statements of its batch ran, inside the transaction). */
export type GateHook = (beforeStatement: number) => Promise<void>;

interface Gate {
  /** Requests of the user still to pass before the one the gate stops. */
  skip: number;
  beforeStatement: number;
  /** Set once a request waits at the gate. */
  held: boolean;
  release: () => void;
  released: Promise<void>;
  /** Resolves the waiters of `reached`. */
  arrived: () => void;
  arrival: Promise<void>;
}

/** A gate never holds longer than this, so a test that fails before releasing it cannot hang the run. */
const MAX_HOLD_MS = 15_000;

export interface SqlGates {
  arm(body: unknown): void;
  /** Waits until the user's gate holds a request (at most `timeoutMs`); true if it does. */
  reached(body: unknown): Promise<boolean>;
  release(body: unknown): void;
  /** The hook for one request of `user`, counting it against the user's gate; undefined when no gate stops it. */
  hookFor(user: string): GateHook | undefined;
}

function userOf(body: unknown): string {
  if (!isRecord(body) || typeof body.user !== "string" || body.user === "")
    throw new HttpError(422, 'Body must name the "user" of the gate');
  return body.user;
}

function wholeNumber(body: Record<string, unknown>, key: string, fallback: number): number {
  const value = body[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw new HttpError(422, `"${key}" must be a whole number`);
  return value;
}

function newGate(skip: number, beforeStatement: number): Gate {
  let release = () => {};
  let arrived = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  return { skip, beforeStatement, held: false, release, released, arrived, arrival };
}

export function createSqlGates(): SqlGates {
  const gates = new Map<string, Gate>();
  return {
    arm(body) {
      const user = userOf(body);
      const fields = isRecord(body) ? body : {};
      gates.get(user)?.release();
      gates.set(user, newGate(wholeNumber(fields, "skip", 0), wholeNumber(fields, "before_statement", 0)));
    },
    async reached(body) {
      const gate = gates.get(userOf(body));
      if (!gate) return false;
      const timeoutMs = isRecord(body) ? wholeNumber(body, "timeout_ms", 5_000) : 5_000;
      await Promise.race([gate.arrival, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
      return gate.held;
    },
    release(body) {
      const user = userOf(body);
      gates.get(user)?.release();
      gates.delete(user);
    },
    hookFor(user) {
      const gate = gates.get(user);
      if (!gate || gate.held) return undefined;
      if (gate.skip > 0) {
        gate.skip -= 1;
        return undefined;
      }
      gate.held = true;
      return async (beforeStatement) => {
        if (beforeStatement !== gate.beforeStatement) return;
        gate.arrived();
        const timer = setTimeout(gate.release, MAX_HOLD_MS);
        await gate.released;
        clearTimeout(timer);
      };
    },
  };
}
