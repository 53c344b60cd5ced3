import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";

// One table of every problem the API can answer with; clients switch on `code` (or `type`), never on text.
const problemTable = {
  bad_request: { status: 400, title: "Bad request" },
  malformed_json: { status: 400, title: "Malformed JSON" },
  code_invalid: { status: 400, title: "Wrong or unknown code" },
  code_expired: { status: 400, title: "Code expired" },
  code_exhausted: { status: 400, title: "Code used up" },
  unauthorized: { status: 401, title: "Authentication required" },
  invalid_token: { status: 401, title: "Invalid token" },
  invalid_credentials: { status: 401, title: "Wrong email or password" },
  email_not_verified: { status: 403, title: "Email address not verified" },
  forbidden: { status: 403, title: "Forbidden" },
  not_found: { status: 404, title: "Not found" },
  user_not_found: { status: 404, title: "User not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  email_taken: { status: 409, title: "Email already registered" },
  cannot_delete_self: { status: 409, title: "Cannot delete yourself" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  too_many_requests: { status: 429, title: "Too many requests" },
  validation_failed: { status: 422, title: "Validation failed" },
  internal_error: { status: 500, title: "Internal server error" },
  service_unavailable: { status: 503, title: "Service unavailable" },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ProblemCode = keyof typeof problemTable;

export interface FieldError {
  in: string;
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  code: ProblemCode;
  title: string;
  status: ContentfulStatusCode;
  detail: string;
  instance?: string;
  request_id?: string;
  errors?: FieldError[];
}

function problemType(code: ProblemCode): string {
  return `urn:coffee-shop:problem:${code.replaceAll("_", "-")}`;
}

export class ApiError extends Error {
  override name = "ApiError";
  readonly code: ProblemCode;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ProblemCode, detail: string, options: { errors?: FieldError[]; headers?: Record<string, string> } = {}) {
    super(detail);
    this.code = code;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

export function validationError(error: ZodError, location: string): ApiError {
  const errors = error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    // name each unknown field, rather than blaming the object that holds them
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ in: location, field: [...path, key].join("."), message: "Unknown field" }));
    }
    return [{ in: location, field: path.join(".") || "(root)", message: issue.message }];
  });
  return new ApiError("validation_failed", "The request has invalid, unknown or missing fields.", { errors });
}

export function problemResponse(c: Context, error: ApiError): Response {
  const { status, title } = problemTable[error.code];
  const problem: Problem = {
    type: problemType(error.code),
    code: error.code,
    title,
    status,
    detail: error.message,
    instance: c.req.path,
    request_id: c.get("requestId"),
    ...(error.errors ? { errors: error.errors } : {}),
  };
  return c.body(JSON.stringify(problem), status, {
    ...error.headers,
    "Content-Type": "application/problem+json",
  });
}
