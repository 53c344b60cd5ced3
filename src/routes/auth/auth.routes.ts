import { createRoute } from "@hono/zod-openapi";
import { ResendCodeRequestSchema, SignupRequestSchema, VerifyRequestSchema } from "../../schemas/registration.ts";
import { LoginRequestSchema, RefreshRequestSchema, SignedInSchema, TokenPairSchema } from "../../schemas/tokens.ts";
import { MessageSchema } from "../../schemas/message.ts";
import { UserSchema } from "../../schemas/user.ts";
import { exampleSignIn, exampleTokens, exampleUser } from "../examples.ts";
import { jsonBody, jsonContent } from "../json-body.ts";
import { MESSAGES } from "../message.ts";
import { BODY_PROBLEMS, DATABASE_PROBLEMS, LIMITED_PROBLEMS, problemResponses } from "../problems.ts";

const tags = ["Auth"];

/** Every /auth endpoint reads a JSON body, uses the database and counts requests per client address. */
const AUTH_PROBLEMS = [...BODY_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS] as const;

export const signup = createRoute({
  method: "post",
  path: "/auth/signup",
  operationId: "signup",
  tags,
  security: [],
  summary: "Create an account",
  description:
    "Creates an unverified user and emails a 6-digit code to prove the address (valid 10 minutes by default). An address " +
    "nobody has proved yet belongs to nobody: a signup for it starts that account over with this signup's password and " +
    "names, and whoever proves the address must give the password of the latest signup. An address gets one code a " +
    "minute and 10 messages an hour at most; within that, the code already sent stays the one to enter. A password " +
    "found in known data breaches (Have I Been Pwned) is refused (`password_breached`).",
  request: jsonBody(SignupRequestSchema, {
    email: "ada@example.com",
    password: "correct horse battery staple",
    first_name: "Ada",
    last_name: "Lovelace",
  }),
  responses: {
    201: { description: "Created; the code is on its way", content: jsonContent(UserSchema, { ...exampleUser, status: "unverified" }) },
    ...problemResponses(...AUTH_PROBLEMS, "email_taken", "password_breached"),
  },
});

export const verify = createRoute({
  method: "post",
  path: "/auth/verify",
  operationId: "verifyEmail",
  tags,
  security: [],
  summary: "Prove an email address with its code",
  description:
    "Completes a signup (with the `password` of the latest signup for the address: the code alone would hand the " +
    "account to whoever chose it), or a change of email address started with PATCH /users/{id}. Every failure of the " +
    "code answers alike (`code_invalid`): a wrong, expired or used code, or none at all. Each client may try 5 times, " +
    "and all clients together 20 times, per address within 10 minutes; a new code does not bring new tries. After 100 " +
    "wrong codes in a row the address's codes pause for 12 hours (the address is told), and each further wrong one " +
    "pauses them again. A right code with another password is `signup_password_mismatch`: sign up again with the " +
    "password you want, then enter the newest code.",
  request: jsonBody(VerifyRequestSchema, {
    email: "ada@example.com",
    code: "123456",
  }),
  responses: {
    200: { description: "Verified", content: jsonContent(MessageSchema, { message: "Email address verified. You can log in now." }) },
    ...problemResponses(...AUTH_PROBLEMS, "code_invalid", "signup_password_mismatch", "email_taken"),
  },
});

export const resendCode = createRoute({
  method: "post",
  path: "/auth/verify/resend",
  operationId: "resendVerificationCode",
  tags,
  security: [],
  summary: "Send a new verification code",
  description:
    "The previous code stops working. At most one code a minute, and 10 messages an hour, per address. The answer is the same whether or not the address is registered.",
  request: jsonBody(ResendCodeRequestSchema, { email: "ada@example.com" }),
  responses: {
    202: { description: "Accepted", content: jsonContent(MessageSchema, { message: MESSAGES.codeResent }) },
    ...problemResponses(...AUTH_PROBLEMS),
  },
});

export const login = createRoute({
  method: "post",
  path: "/auth/login",
  operationId: "login",
  tags,
  security: [],
  summary: "Log in",
  description:
    "Checks the password and starts a session: an access token (a JWT for `Authorization: Bearer`, 15 minutes by default) " +
    "and a single-use refresh token. A wrong password and an unknown address answer alike (401 `invalid_credentials`); " +
    "an unverified account is 403 `email_not_verified`, a disabled one 403 `account_disabled`, one its owner deleted 403 " +
    "`account_pending_deletion` with `deletion_due_at` (each to the right password only; a deletion is cancelled with " +
    "the link mailed to the owner). Wrong passwords in a row make an account's next try wait: the first 4 cost nothing, then 1, 2, 4 … seconds up " +
    "to an hour (429 with `Retry-After`, the right password alike); after 100 the account is locked (403 " +
    "`account_locked`, the owner is told) until its password is reset. For an account with a second factor the right " +
    "password answers 401 `mfa_required` with a `challenge`: complete the login at POST /auth/login/mfa. Send the " +
    "`device_token` the last sign-in on this device answered: the device then meets a run of wrong passwords of its " +
    "own (failures from elsewhere never slow or lock it), and the owner gets no new-device notice. A sign-in without " +
    "one (or with one the account does not know) meets the account's run, and the owner is mailed about the new device " +
    "(not for an account's first), with a link that signs it out.",
  request: jsonBody(LoginRequestSchema, {
    email: "ada@example.com",
    password: "correct horse battery staple",
    device_token: exampleSignIn.device_token,
  }),
  responses: {
    200: { description: "Logged in; keep the device token for the next login here", content: jsonContent(SignedInSchema, exampleSignIn) },
    ...problemResponses(
      ...AUTH_PROBLEMS,
      "invalid_credentials",
      "mfa_required",
      "email_not_verified",
      "account_disabled",
      "account_pending_deletion",
      "account_locked",
    ),
  },
});

export const refresh = createRoute({
  method: "post",
  path: "/auth/refresh",
  operationId: "refreshTokens",
  tags,
  security: [],
  summary: "Exchange a refresh token for new tokens",
  description:
    "Rotation: the token presented is spent and a new one returned. Presenting a spent token again ends its whole session, except within a short grace window in which the same successor is returned.",
  request: jsonBody(RefreshRequestSchema, { refresh_token: exampleTokens.refresh_token }),
  responses: {
    200: { description: "New tokens", content: jsonContent(TokenPairSchema, exampleTokens) },
    ...problemResponses(...AUTH_PROBLEMS, "invalid_token"),
  },
});

export const logout = createRoute({
  method: "post",
  path: "/auth/logout",
  operationId: "logout",
  tags,
  security: [],
  summary: "End the session of a refresh token",
  description: "The refresh token and every access token of its session stop working.",
  request: jsonBody(RefreshRequestSchema, { refresh_token: exampleTokens.refresh_token }),
  responses: {
    204: { description: "Logged out" },
    ...problemResponses(...AUTH_PROBLEMS, "invalid_token"),
  },
});
