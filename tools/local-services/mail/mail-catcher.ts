import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { emptyReply, HttpError, htmlReply, jsonReply, type Handler, type Reply } from "../http-reply.ts";
import { headerValue, isRecord, readJsonBody } from "../request-body.ts";
import { renderMailPage } from "./mail-page.ts";
import { type CapturedEmail, parseOutgoingEmail } from "./outgoing-email.ts";

export interface MailCatcher {
  /** POST /emails: Resend's send endpoint. */
  send: Handler;
  /** GET /emails[?to=address]: the captured messages as JSON, newest first. */
  list: Handler;
  /** DELETE /emails: forgets the messages, their idempotency keys and any armed failures. */
  clear: Handler;
  /** POST /emails/failures {"count", "status", "to"?}: the next `count` sends (to `to`, if given) fail with `status`. */
  failNext: Handler;
  /** GET /: the messages as a page a developer reads (e.g. for the code a signup sent). */
  page: Handler;
}

// Resend's limit on Idempotency-Key.
const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

const RESEND_ERROR_NAMES: Record<number, string> = {
  413: "validation_error",
  422: "validation_error",
  429: "rate_limit_exceeded",
  500: "internal_server_error",
};

/**
 * A Resend-compatible mail sink that keeps every message in memory, and logs each one so the codes a
 * developer needs show up in the terminal of `npm run dev`.
 */
export function createMailCatcher(log: (line: string) => void): MailCatcher {
  let emails: CapturedEmail[] = [];
  // Resend answers a repeated key with the first answer and sends nothing more.
  let firstReplies = new Map<string, Reply>();
  let failures: Failures = { remaining: 0, status: 500, to: undefined };

  async function send(request: IncomingMessage): Promise<Reply> {
    const key = headerValue(request, "Idempotency-Key");
    if (key !== undefined && key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw new HttpError(422, `Idempotency-Key longer than ${MAX_IDEMPOTENCY_KEY_LENGTH} characters.`);
    }
    const email = parseOutgoingEmail(await readJsonBody(request));
    if (failures.remaining > 0 && (failures.to === undefined || email.to.some((entry) => addressOf(entry) === failures.to))) {
      failures.remaining -= 1;
      return resendError(failures.status, "Simulated failure (armed with POST /emails/failures)");
    }
    const firstReply = key === undefined ? undefined : firstReplies.get(key);
    if (firstReply !== undefined) return firstReply;
    const captured = { id: randomUUID(), ...email, created_at: new Date().toISOString() };
    emails.push(captured);
    log(`Mail to ${captured.to.join(", ")}: ${captured.subject}${captured.text ? `\n${captured.text}` : ""}`);
    const reply = jsonReply(200, { id: captured.id });
    if (key !== undefined) firstReplies.set(key, reply);
    return reply;
  }

  function newestFirst(to: string | null): CapturedEmail[] {
    const wanted = to === null ? null : addressOf(to);
    return emails.filter((email) => wanted === null || email.to.some((entry) => addressOf(entry) === wanted)).toReversed();
  }

  return {
    send: (request) => resendErrors(() => send(request)),
    list: async (_request, url) => jsonReply(200, newestFirst(url.searchParams.get("to"))),
    clear: async () => {
      emails = [];
      firstReplies = new Map();
      failures = { remaining: 0, status: 500, to: undefined };
      return emptyReply();
    },
    failNext: (request) =>
      resendErrors(async () => {
        failures = parseFailures(await readJsonBody(request));
        return jsonReply(200, { count: failures.remaining, status: failures.status });
      }),
    page: async () => htmlReply(renderMailPage(newestFirst(null))),
  };
}

/** Sends armed to fail: how many more, with which status, and only those to this address when one is named. */
interface Failures {
  remaining: number;
  status: number;
  to: string | undefined;
}

function parseFailures(body: unknown): Failures {
  const count = isRecord(body) ? body.count : undefined;
  const status = isRecord(body) ? (body.status ?? 500) : undefined;
  const to = isRecord(body) ? body.to : undefined;
  if (to !== undefined && typeof to !== "string") throw new HttpError(422, "`to` must be an email address.");
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
    throw new HttpError(422, "`count` must be a whole number of sends to fail.");
  }
  if (typeof status !== "number" || !Number.isInteger(status) || status < 400 || status > 599) {
    throw new HttpError(422, "`status` must be an HTTP error status (400-599).");
  }
  return { remaining: count, status, to: to === undefined ? undefined : addressOf(to) };
}

/** Answers refusals in Resend's error shape, which the SDK hands back as `error`. */
async function resendErrors(work: () => Promise<Reply>): Promise<Reply> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof HttpError) return resendError(error.status, error.message);
    throw error;
  }
}

function resendError(status: number, message: string): Reply {
  return jsonReply(status, { statusCode: status, name: RESEND_ERROR_NAMES[status] ?? "application_error", message });
}

/** The bare address of "Name <address>" or "address", lower-cased, for matching recipients. */
function addressOf(recipient: string): string {
  const bracketed = /<([^>]*)>\s*$/.exec(recipient)?.[1];
  return (bracketed ?? recipient).trim().toLowerCase();
}
