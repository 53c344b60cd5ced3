import { createRoute, z } from "@hono/zod-openapi";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../../auth/passwords.ts";
import { EmailSchema, MessageSchema, NameSchema, problemResponses, UserSchema } from "../openapi-schemas.ts";

// Lengths count characters (code points), as people do, not UTF-16 units: an emoji is one character.
const PasswordSchema = z
  .string()
  .refine((password) => [...password].length >= PASSWORD_MIN_LENGTH, `Must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .refine((password) => [...password].length <= PASSWORD_MAX_LENGTH, `Must be at most ${PASSWORD_MAX_LENGTH} characters`)
  .openapi({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH, example: "correct horse battery" });
const CodeSchema = z.string().regex(/^\d{6}$/, "Must be the 6-digit code from the email").openapi({ example: "123456" });
const RefreshTokenSchema = z.string().min(1).max(512);

const TokenPairSchema = z
  .object({
    access_token: z.string().openapi({ description: "A JWT for the Authorization: Bearer header" }),
    refresh_token: z.string().openapi({ description: "Single use: each refresh returns a new one" }),
    token_type: z.literal("bearer"),
    expires_in: z.number().int().openapi({ description: "Seconds until the access token expires", example: 900 }),
  })
  .openapi("TokenPair");

function jsonBody<T extends z.ZodType>(schema: T) {
  return { body: { required: true, content: { "application/json": { schema } } } };
}

const tags = ["Auth"];

export const signup = createRoute({
  method: "post",
  path: "/auth/signup",
  tags,
  summary: "Create an account",
  description: "Creates an unverified user and emails a 6-digit code to prove the address (valid 10 minutes by default).",
  request: jsonBody(
    z
      .strictObject({
        email: EmailSchema,
        password: PasswordSchema,
        first_name: NameSchema.optional(),
        last_name: NameSchema.optional(),
      })
      .openapi("SignupRequest"),
  ),
  responses: {
    201: { description: "Created; the code is on its way", content: { "application/json": { schema: UserSchema } } },
    ...problemResponses(400, 409, 413, 415, 422, 429),
  },
});

export const verify = createRoute({
  method: "post",
  path: "/auth/verify",
  tags,
  summary: "Prove an email address with its code",
  description:
    "Completes a signup, or a change of email address started with PATCH /users/{id}. A code allows 5 wrong tries.",
  request: jsonBody(z.strictObject({ email: EmailSchema, code: CodeSchema }).openapi("VerifyRequest")),
  responses: {
    200: { description: "Verified", content: { "application/json": { schema: MessageSchema } } },
    ...problemResponses(400, 409, 422, 429),
  },
});

export const resendCode = createRoute({
  method: "post",
  path: "/auth/verify/resend",
  tags,
  summary: "Send a new verification code",
  description:
    "The previous code stops working. At most one code a minute per address. The answer is the same whether or not the address is registered.",
  request: jsonBody(z.strictObject({ email: EmailSchema }).openapi("ResendCodeRequest")),
  responses: {
    202: { description: "Accepted", content: { "application/json": { schema: MessageSchema } } },
    ...problemResponses(400, 422, 429),
  },
});

export const login = createRoute({
  method: "post",
  path: "/auth/login",
  tags,
  summary: "Log in",
  request: jsonBody(
    z.strictObject({ email: EmailSchema, password: z.string().min(1).max(PASSWORD_MAX_LENGTH) }).openapi("LoginRequest"),
  ),
  responses: {
    200: { description: "Logged in", content: { "application/json": { schema: TokenPairSchema } } },
    ...problemResponses(400, 401, 403, 422, 429),
  },
});

const RefreshRequestSchema = z.strictObject({ refresh_token: RefreshTokenSchema }).openapi("RefreshRequest");

export const refresh = createRoute({
  method: "post",
  path: "/auth/refresh",
  tags,
  summary: "Exchange a refresh token for new tokens",
  description:
    "Rotation: the token presented is spent and a new one returned. Presenting a spent token again ends its whole session, except within a short grace window in which the same successor is returned.",
  request: jsonBody(RefreshRequestSchema),
  responses: {
    200: { description: "New tokens", content: { "application/json": { schema: TokenPairSchema } } },
    ...problemResponses(400, 401, 422, 429),
  },
});

export const logout = createRoute({
  method: "post",
  path: "/auth/logout",
  tags,
  summary: "End the session of a refresh token",
  description: "The refresh token and every access token of its session stop working.",
  request: jsonBody(RefreshRequestSchema),
  responses: {
    204: { description: "Logged out" },
    ...problemResponses(400, 401, 422, 429),
  },
});
