import { createRoute } from "@hono/zod-openapi";
import {
  AccessTokenSchema,
  ConfirmTotpRequestSchema,
  DisableTotpRequestSchema,
  MfaLoginRequestSchema,
  ReauthenticateRequestSchema,
  StartTotpRequestSchema,
  TotpEnabledSchema,
  TotpEnrolmentSchema,
} from "../../schemas/mfa.ts";
import { SignedInSchema, TokenPairSchema } from "../../schemas/tokens.ts";
import { adminOnly, anyUser, bearerSecurity as security, userWrites } from "../access.ts";
import { exampleSignIn, exampleTokens } from "../examples.ts";
import { jsonBody, jsonContent } from "../json-body.ts";
import { UserIdParamSchema } from "../params.ts";
import {
  ADMIN_PROBLEMS,
  BODY_PROBLEMS,
  DATABASE_PROBLEMS,
  LIMITED_PROBLEMS,
  PARAMETER_PROBLEMS,
  problemResponses,
  SIGNED_IN_PROBLEMS,
  STEP_UP_PROBLEMS,
} from "../problems.ts";

const tags = ["Second factor"];

/** What a code of the app can meet: wrong or replayed, and a pause after a long run of wrong ones. */
const CODE_PROBLEMS = ["mfa_code_invalid", "too_many_requests"] as const;

const exampleSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const exampleUri = `otpauth://totp/Coffee%20Shop:ada%40example.com?secret=${exampleSecret}&issuer=Coffee%20Shop&algorithm=SHA1&digits=6&period=30`;

export const startTotp = createRoute({
  method: "post",
  path: "/auth/mfa/totp",
  operationId: "startTotpEnrolment",
  tags,
  security,
  middleware: [anyUser, userWrites] as const,
  summary: "Start enrolling an authenticator app",
  description:
    "Answers a new TOTP secret (RFC 6238: SHA-1, 6 digits, 30 seconds) as an `otpauth://` URI, its QR code as SVG, and " +
    "the secret in base32 for apps that cannot scan. Nothing changes until a first code confirms it " +
    "(POST /auth/mfa/totp/confirm); starting again replaces a pending enrolment. Needs the current password (a wrong " +
    "one counts as a failed login) and a recent sign-in: an access token alone cannot add a factor.",
  request: jsonBody(StartTotpRequestSchema, { current_password: "correct horse battery staple" }),
  responses: {
    201: {
      description: "Scan the QR code, then confirm with the code the app shows",
      content: jsonContent(TotpEnrolmentSchema, {
        secret: exampleSecret,
        otpauth_uri: exampleUri,
        qr_svg: '<svg xmlns="http://www.w3.org/2000/svg" …/>',
      }),
    },
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...SIGNED_IN_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "invalid_credentials",
      "account_locked",
      "mfa_already_enabled",
    ),
  },
});

export const confirmTotp = createRoute({
  method: "post",
  path: "/auth/mfa/totp/confirm",
  operationId: "confirmTotp",
  tags,
  security,
  middleware: [anyUser, userWrites] as const,
  summary: "Turn the authenticator app on with its first code",
  description:
    "The factor is on from now: every session of the account ends, and this one goes on as a fresh session with the " +
    "factor in its `amr` (its tokens are in the answer; its `auth_time` stays that of the sign-in). The answer holds 10 " +
    "recovery codes, shown this once: each logs in once in place of the app. The address is told.",
  request: jsonBody(ConfirmTotpRequestSchema, { code: "492039" }),
  responses: {
    200: {
      description: "On; keep the recovery codes somewhere safe",
      content: jsonContent(TotpEnabledSchema, { ...exampleTokens, recovery_codes: ["7K2QF-9XM4D", "Q3N8V-1HT6W"] }),
    },
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...SIGNED_IN_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      ...CODE_PROBLEMS,
      "mfa_not_enabled",
    ),
  },
});

export const disableTotp = createRoute({
  method: "post",
  path: "/auth/mfa/totp/disable",
  operationId: "disableTotp",
  tags,
  security,
  middleware: [anyUser, userWrites] as const,
  summary: "Turn the authenticator app off",
  description:
    "Needs the current password and a current code of the app (a wrong password counts as a failed login, a wrong code " +
    "as a wrong code). The recovery codes stop working with it. Every session of the account ends, since none may go " +
    "on claiming the factor; this one goes on as a fresh session without it (its tokens are in the answer). The " +
    "address is told.",
  request: jsonBody(DisableTotpRequestSchema, { current_password: "correct horse battery staple", code: "492039" }),
  responses: {
    200: { description: "Off; the session goes on with these tokens", content: jsonContent(TokenPairSchema, exampleTokens) },
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...SIGNED_IN_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      ...CODE_PROBLEMS,
      "invalid_credentials",
      "account_locked",
      "mfa_not_enabled",
    ),
  },
});

export const loginWithFactor = createRoute({
  method: "post",
  path: "/auth/login/mfa",
  operationId: "loginWithSecondFactor",
  tags,
  security: [],
  summary: "Complete a login with the second factor",
  description:
    "With the challenge token of a login's `mfa_required` answer (single use, 5 minutes) and the code the app shows now " +
    "(one 30-second step of clock drift is accepted either way; each code works once), or an unused recovery code " +
    "(the address is told it was used). A wrong code counts against the account: after 100 in a row its codes pause " +
    "for 12 hours. A challenge stops working when the password changes or the account's sessions are ended.",
  request: jsonBody(MfaLoginRequestSchema, { challenge_token: "q9v0Yb3K1mZt7Lw2Xc8Rj5Np4Hd6Sa0Ge1Uf3Io9Ty", code: "492039" }),
  responses: {
    200: { description: "Logged in; keep the device token for the next login here", content: jsonContent(SignedInSchema, exampleSignIn) },
    ...problemResponses(...BODY_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, ...CODE_PROBLEMS, "invalid_token"),
  },
});

export const reauthenticate = createRoute({
  method: "post",
  path: "/auth/reauthenticate",
  operationId: "reauthenticate",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "Prove it is you again, without logging out",
  description:
    "For operations answering `reauthentication_required`: the password, and a code of the app when a second factor " +
    "is on. The answer is an access token of the same session with a fresh `auth_time`; sensitive operations accept it " +
    "for 10 minutes. The refresh token stays as it was (tokens it yields carry the new time too).",
  request: jsonBody(ReauthenticateRequestSchema, { password: "correct horse battery staple", code: "492039" }),
  responses: {
    200: {
      description: "A fresh access token",
      content: jsonContent(AccessTokenSchema, { access_token: exampleTokens.access_token, token_type: "bearer", expires_in: 900 }),
    },
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...SIGNED_IN_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      ...CODE_PROBLEMS,
      "invalid_credentials",
      "account_locked",
      "mfa_required",
    ),
  },
});

export const resetUserFactor = createRoute({
  method: "delete",
  path: "/users/{id}/mfa",
  operationId: "resetUserSecondFactor",
  tags,
  security,
  middleware: [adminOnly, userWrites] as const,
  summary: "Reset a user's second factor (admin)",
  description:
    "For a user who lost their device: the factor and its recovery codes are removed, every session of the user ends, " +
    "and the user is told. They log in with the password alone and can enrol again. Not one's own factor (409): an " +
    "admin turns theirs off with the password and a current code, or asks another admin.",
  request: { params: UserIdParamSchema },
  responses: {
    204: { description: "Removed" },
    ...problemResponses(
      ...ADMIN_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "mfa_not_enabled",
      "cannot_reset_own_factor",
    ),
  },
});
