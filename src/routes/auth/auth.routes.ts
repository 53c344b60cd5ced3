import { createRoute, z } from "@hono/zod-openapi";
import { CodeSchema } from "../../schemas/codes.ts";
import { RefreshTokenSchema, TokenPairSchema } from "../../schemas/tokens.ts";
import { EmailSchema, NameSchema, NewPasswordSchema, PresentedPasswordSchema, UserSchema } from "../../schemas/user.ts";
import { jsonBody } from "../json-body.ts";
import { MessageSchema } from "../message.ts";
import { BODY_PROBLEMS, DATABASE_PROBLEMS, LIMITED_PROBLEMS, problemResponses } from "../problems.ts";

const tags = ["Auth"];

/** Every /auth endpoint reads a JSON body, uses the database and counts requests per client address. */
const AUTH_PROBLEMS = [...BODY_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS] as const;

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
        password: NewPasswordSchema,
        first_name: NameSchema.optional(),
        last_name: NameSchema.optional(),
      })
      .openapi("SignupRequest"),
  ),
  responses: {
    201: { description: "Created; the code is on its way", content: { "application/json": { schema: UserSchema } } },
    ...problemResponses(...AUTH_PROBLEMS, "email_taken"),
  },
});

export const verify = createRoute({
  method: "post",
  path: "/auth/verify",
  tags,
  summary: "Prove an email address with its code",
  description:
    "Completes a signup, or a change of email address started with PATCH /users/{id}. Every failure answers alike " +
    "(`code_invalid`): a wrong, expired or used code, or none at all. Each client may try 5 times, and all clients " +
    "together 20 times, per address within 10 minutes; a new code does not bring new tries.",
  request: jsonBody(z.strictObject({ email: EmailSchema, code: CodeSchema }).openapi("VerifyRequest")),
  responses: {
    200: { description: "Verified", content: { "application/json": { schema: MessageSchema } } },
    ...problemResponses(...AUTH_PROBLEMS, "code_invalid", "email_taken"),
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
    ...problemResponses(...AUTH_PROBLEMS),
  },
});

export const login = createRoute({
  method: "post",
  path: "/auth/login",
  tags,
  summary: "Log in",
  request: jsonBody(z.strictObject({ email: EmailSchema, password: PresentedPasswordSchema }).openapi("LoginRequest")),
  responses: {
    200: { description: "Logged in", content: { "application/json": { schema: TokenPairSchema } } },
    ...problemResponses(...AUTH_PROBLEMS, "invalid_credentials", "email_not_verified", "account_disabled"),
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
    ...problemResponses(...AUTH_PROBLEMS, "invalid_token"),
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
    ...problemResponses(...AUTH_PROBLEMS, "invalid_token"),
  },
});
