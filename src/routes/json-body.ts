import type { z } from "zod";

/** A required JSON request body with this schema. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { body: { required: true, content: { "application/json": { schema } } } };
}
