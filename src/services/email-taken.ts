import { isUniqueViolation, USERS_EMAIL_KEY } from "../db/errors.ts";
import { failure } from "../errors.ts";

/**
 * Another request can take an address between our check and our write; Postgres's unique index
 * settles it, and the loser hears 409 rather than 500.
 */
export async function translateEmailTaken<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (isUniqueViolation(error, USERS_EMAIL_KEY)) throw failure("email_taken");
    throw error;
  }
}
