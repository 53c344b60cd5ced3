// The one place a failure becomes an HTTP answer: RFC 9457 problem+json, by the problem table.
import type { Context } from "hono";
import type { ZodError } from "zod";
import { ApiError } from "../errors.ts";
import { type FieldError, type Problem, type ProblemCode, problemTable, problemType } from "../schemas/problem.ts";

/** A problem found by the HTTP layer itself, which may name the failing fields and add headers. */
export class HttpProblem extends ApiError {
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(code: ProblemCode, detail: string, options: { errors?: FieldError[]; headers?: Record<string, string> } = {}) {
    super(code, detail);
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

/** A request that fails its route's schema: 422 naming each failing field and where it is. */
export function validationError(error: ZodError, location: string): HttpProblem {
  const errors = error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    // name each unknown field, rather than blaming the object that holds them
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ in: location, field: [...path, key].join("."), message: "Unknown field" }));
    }
    return [{ in: location, field: path.join(".") || "(root)", message: issue.message }];
  });
  return new HttpProblem("validation_failed", "The request has invalid, unknown or missing fields.", { errors });
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
    ...(error instanceof HttpProblem && error.errors ? { errors: error.errors } : {}),
  };
  return c.body(JSON.stringify({ ...error.members, ...problem }), status, {
    ...(error instanceof HttpProblem ? error.headers : {}),
    ...(error.retryAfterSeconds === undefined ? {} : { "Retry-After": String(error.retryAfterSeconds) }),
    "Content-Type": "application/problem+json",
  });
}
