import { NeonDbError } from "@neondatabase/serverless";

const UNIQUE_VIOLATION = "23505";

/** True when `error` is Postgres refusing a duplicate under the named unique constraint. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  return error instanceof NeonDbError && error.code === UNIQUE_VIOLATION && error.constraint === constraint;
}

export const USERS_EMAIL_KEY = "users_email_key";
