import type { z } from "zod";

// Every JSON body in the document carries an example; typed by its schema, so an example that drifts
// from the contract fails the typecheck.

/** JSON content of this schema, with an example of what it holds. */
export function jsonContent<T extends z.ZodType>(schema: T, example: z.output<T>) {
  return { "application/json": { schema, example } };
}

/** A required JSON request body with this schema, and an example a client could send. */
export function jsonBody<T extends z.ZodType>(schema: T, example: z.input<T>) {
  return { body: { required: true, content: { "application/json": { schema, example } } } };
}
