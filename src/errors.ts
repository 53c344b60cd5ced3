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
  /** What the client needs to go on, as extension members of the problem (RFC 9457 §3.2): a login's challenge. */
  readonly members: Record<string, unknown>;

  constructor(code: ProblemCode, detail: string, options: { retryAfterSeconds?: number; members?: Record<string, unknown> } = {}) {
    super(detail);
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.members = options.members ?? {};
  }
}

/** Failures told from more than one place, by name: the same words wherever they are met. */
const FAILURES = {
  user_gone: { code: "invalid_token", detail: "The user of this token no longer exists." },
  session_ended: { code: "invalid_token", detail: "The session of this token has ended." },
  refresh_token_invalid: { code: "invalid_token", detail: "The refresh token is invalid, expired, already used or revoked." },
  user_not_found: { code: "user_not_found", detail: "There is no user with this id." },
  code_invalid: {
    code: "code_invalid",
    detail: "The code is wrong, has expired or was used up. Use the newest code we sent, or ask for a new one.",
  },
  wrong_current_password: { code: "invalid_credentials", detail: "The current password is wrong." },
  signup_password_mismatch: {
    code: "signup_password_mismatch",
    detail:
      "The code is right, but the password is not the one of the latest signup for this address. Sign up again with the password you want and enter the newest code, or choose a password with “Forgot password”.",
  },
  email_taken: { code: "email_taken", detail: "An account with this email address already exists." },
} as const satisfies Record<string, { code: ProblemCode; detail: string }>;

export type FailureName = keyof typeof FAILURES;

export function failure(name: FailureName): ApiError {
  const { code, detail } = FAILURES[name];
  return new ApiError(code, detail);
}

/** Seconds a client is asked to wait when the database is unavailable: long enough for a blip to pass. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

export function databaseUnavailable(): ApiError {
  return new ApiError("service_unavailable", "The service cannot reach its database just now. Try again shortly.", {
    retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
  });
}
