import { z } from "@hono/zod-openapi";
import { USER_ID_PATTERN } from "../db/schema.ts";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "urn:coffee-shop:problem:validation-failed" }),
    code: z.string().openapi({ example: "validation_failed" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    request_id: z.string().optional(),
    errors: z
      .array(z.object({ in: z.string(), field: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: "The failing fields, for validation errors" }),
  })
  .openapi("Problem", { description: "An RFC 9457 problem detail" });

const problemDescriptions: Record<number, string> = {
  400: "Malformed request",
  401: "Missing, invalid or revoked credentials",
  403: "Authenticated but not allowed",
  404: "Not found",
  409: "Conflicts with the current state",
  413: "Body too large",
  415: "Body is not JSON",
  422: "Invalid input; `errors` lists the failing fields",
  429: "Too many requests",
  503: "A dependency is unavailable",
};

/** The OpenAPI `responses` entries for problem+json answers with the given statuses. */
export function problemResponses(...statuses: (keyof typeof problemDescriptions)[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: problemDescriptions[status] ?? "Error", content: { "application/problem+json": { schema: ProblemSchema } } },
    ]),
  );
}

export const EmailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .check(z.email({ error: "Not a valid email address" }))
  .openapi({ example: "ada@example.com", description: "Compared and stored trimmed and lower-cased" });

export const UserIdParamSchema = z.object({
  id: z
    .string()
    .regex(USER_ID_PATTERN, "Must be a positive integer")
    .openapi({ param: { name: "id", in: "path" }, example: "42" }),
});

export const UserSchema = z
  .object({
    id: z.number().int().openapi({ example: 42 }),
    email: z.string().openapi({ example: "ada@example.com" }),
    first_name: z.string().nullable().openapi({ example: "Ada" }),
    last_name: z.string().nullable().openapi({ example: "Lovelace" }),
    status: z.enum(["unverified", "verified"]),
    role: z.enum(["user", "admin"]),
    created_at: z.iso.datetime().openapi({ example: "2026-11-24T12:00:00.000Z" }),
  })
  .openapi("User");

export const NameSchema = z.string().trim().min(1).max(100).nullable();

export const MessageSchema = z.object({ message: z.string() }).openapi("Message");
