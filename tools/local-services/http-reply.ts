import type { IncomingMessage } from "node:http";

/** What a handler answers; the server writes it, or with `drop` closes the connection without a word. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
  drop?: true;
}

export type Handler = (request: IncomingMessage, url: URL) => Promise<Reply>;

/** A request the service refuses: answered with the status and the message as plain text. */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function jsonReply(status: number, value: unknown): Reply {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(value) };
}

export function textReply(status: number, message: string): Reply {
  return { status, headers: { "content-type": "text/plain; charset=utf-8" }, body: message };
}

export function emptyReply(): Reply {
  return { status: 204, headers: {}, body: "" };
}

// The page shows text other programs sent; even if escaping missed something, nothing may run or load.
const PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'";

export function htmlReply(page: string): Reply {
  return {
    status: 200,
    headers: { "content-type": "text/html; charset=utf-8", "content-security-policy": PAGE_POLICY },
    body: page,
  };
}
