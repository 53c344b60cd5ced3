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

/** Seconds a client is asked to wait when the database is unavailable: long enough for a blip to pass. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

export function databaseUnavailable(): ApiError {
  return new ApiError("service_unavailable", "The service cannot reach its database just now. Try again shortly.", {
    retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
  });
}
