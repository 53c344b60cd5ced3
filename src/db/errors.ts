import { NeonDbError } from "@neondatabase/serverless";

const UNIQUE_VIOLATION = "23505";

/** True when `error` is Postgres refusing a duplicate under the named unique constraint. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  return error instanceof NeonDbError && error.code === UNIQUE_VIOLATION && error.constraint === constraint;
}

export const USERS_EMAIL_KEY = "users_email_key";

// Postgres error classes that mean "try again", not "this request is wrong": connection exceptions,
// insufficient resources, operator intervention, and a transaction that lost a race.
const TRANSIENT_CODES = [/^08/, /^53/, /^57P0/, /^40001$/, /^40P01$/];

/**
 * True when `error` says the database could not do the work now, rather than that the work was wrong:
 * the endpoint unreachable, answering 5xx, too slow (our timeout), or Postgres reporting a transient
 * condition. Such a request changed nothing (each use case is one statement or one transaction).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof NeonDbError)) return false;
  // the driver's own errors (connection, HTTP status, timeout) carry no Postgres code
  if (error.code === undefined || error.code === null) return true;
  return TRANSIENT_CODES.some((pattern) => pattern.test(String(error.code)));
}
