import { HttpError } from "../http-reply.ts";
import { isRecord } from "../request-body.ts";

/** A message as the `resend` SDK posts it to /emails (snake_case, like Resend's API). */
export interface OutgoingEmail {
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  reply_to: string[];
  subject: string;
  text: string | null;
  html: string | null;
  headers: Record<string, string>;
}

// Resend's limit; a bigger list is refused the same way here.
const MAX_RECIPIENTS = 50;

/** A message as the catcher keeps it: what was sent, with the id and time it was caught. */
export interface CapturedEmail extends OutgoingEmail {
  id: string;
  created_at: string;
}

/** Checks a POST /emails body the way Resend does, with its messages (an HttpError 422 otherwise). */
export function parseOutgoingEmail(body: unknown): OutgoingEmail {
  if (!isRecord(body)) throw invalid("The body must be a JSON object.");
  const { from, subject, text, html, headers } = body;
  if (typeof from !== "string" || from.trim() === "") throw invalid("Missing `from` field.");
  const to = addresses(body.to, "to");
  if (to.length === 0) throw invalid("Missing `to` field.");
  if (to.length > MAX_RECIPIENTS) throw invalid(`\`to\` has more than ${MAX_RECIPIENTS} recipients.`);
  if (typeof subject !== "string") throw invalid("Missing `subject` field.");
  if (!optionalString(text) || !optionalString(html)) throw invalid("`text` and `html` must be strings.");
  if (text === undefined && html === undefined) throw invalid("Missing `html` or `text` field.");
  if (headers !== undefined && !isStringRecord(headers)) throw invalid("`headers` must map names to strings.");
  return {
    from,
    to,
    cc: addresses(body.cc, "cc"),
    bcc: addresses(body.bcc, "bcc"),
    reply_to: addresses(body.reply_to, "reply_to"),
    subject,
    text: text ?? null,
    html: html ?? null,
    headers: headers ?? {},
  };
}

/** A recipient field: one address or a list of them, absent meaning none. */
function addresses(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value;
  throw invalid(`\`${field}\` must be an email address or a list of them.`);
}

function optionalString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === "string";
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((item) => typeof item === "string");
}

function invalid(message: string): HttpError {
  return new HttpError(422, message);
}
