import { createRoute } from "@hono/zod-openapi";
import { MessageSchema } from "../../schemas/message.ts";
import { ChangePasswordRequestSchema, ForgotPasswordRequestSchema, ResetPasswordRequestSchema } from "../../schemas/passwords.ts";
import { TokenPairSchema } from "../../schemas/tokens.ts";
import { anyUser, bearerSecurity } from "../access.ts";
import { exampleTokens } from "../examples.ts";
import { jsonBody, jsonContent } from "../json-body.ts";
import { MESSAGES } from "../message.ts";
import { BODY_PROBLEMS, DATABASE_PROBLEMS, LIMITED_PROBLEMS, problemResponses, SIGNED_IN_PROBLEMS, STEP_UP_PROBLEMS } from "../problems.ts";

const tags = ["Passwords"];
const PASSWORD_PROBLEMS = [...BODY_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS] as const;

export const forgot = createRoute({
  method: "post",
  path: "/auth/password/forgot",
  operationId: "forgotPassword",
  tags,
  security: [],
  summary: "Ask for a password-reset code",
  description:
    "Mails a 6-digit code (valid 10 minutes) to the account with this address, verified or not, at most one reset code a " +
    "minute and 10 messages an hour per address. The answer is the same, in about the same time, whether or not the " +
    "address has an account.",
  request: jsonBody(ForgotPasswordRequestSchema, { email: "ada@example.com" }),
  responses: {
    202: { description: "Accepted", content: jsonContent(MessageSchema, { message: MESSAGES.resetCodeSent }) },
    ...problemResponses(...PASSWORD_PROBLEMS),
  },
});

export const reset = createRoute({
  method: "post",
  path: "/auth/password/reset",
  operationId: "resetPassword",
  tags,
  security: [],
  summary: "Set a new password with the emailed code",
  description:
    "Sets the new password, spends the code and ends every session of the account, at once. The code proves control of " +
    "the address, so an account not yet verified becomes verified, a lock after wrong passwords lifts, and a pause of " +
    "the address's codes ends. The code is checked before any password work. Every failure answers alike " +
    "(`code_invalid`); the address's guessing budget is that of POST /auth/verify (5 tries per client, 20 in all, per " +
    "10 minutes; 100 wrong in a row pause reset codes for 12 hours). The address is told of the reset. A second factor " +
    "stays on: the next login still needs it. A password found in known data breaches is refused (`password_breached`).",
  request: jsonBody(ResetPasswordRequestSchema, {
    email: "ada@example.com",
    code: "123456",
    new_password: "a new and longer passphrase",
  }),
  responses: {
    200: {
      description: "Password reset: log in with the new one",
      content: jsonContent(MessageSchema, { message: MESSAGES.passwordReset }),
    },
    ...problemResponses(...PASSWORD_PROBLEMS, "code_invalid", "password_breached"),
  },
});

export const change = createRoute({
  method: "post",
  path: "/auth/password/change",
  operationId: "changePassword",
  tags,
  security: bearerSecurity,
  middleware: [anyUser] as const,
  summary: "Change your password",
  description:
    "Needs the current password (a wrong one counts against the account like a failed login, and an account waiting out " +
    "its wrong passwords refuses even the right one). Every session of the account ends, this one too: the answer is a " +
    "fresh session's token pair. The address is told of the change. Needs a recent sign-in (`reauthentication_required`), " +
    "and refuses a password found in known data breaches (`password_breached`).",
  request: jsonBody(ChangePasswordRequestSchema, {
    current_password: "correct horse battery staple",
    new_password: "a new and longer passphrase",
  }),
  responses: {
    200: { description: "Changed; the tokens of a fresh session", content: jsonContent(TokenPairSchema, exampleTokens) },
    ...problemResponses(
      ...PASSWORD_PROBLEMS,
      ...SIGNED_IN_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      "invalid_credentials",
      "account_locked",
      "password_breached",
    ),
  },
});
