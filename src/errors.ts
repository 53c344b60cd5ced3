import type { ProblemCode } from "./schemas/problem.ts";

/**
 * A failure a client is told about, by its code in the problem table; the HTTP layer turns it into
 * problem+json (status, title, headers). Anything else thrown is our fault and answers 500.
 */
export class ApiError extends Error {
  override name = "ApiError";
  readonly code: ProblemCode;
  /** When trying again may succeed: the client is told to wait this long. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ProblemCode, detail: string, options: { retryAfterSeconds?: number } = {}) {
    super(detail);
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
