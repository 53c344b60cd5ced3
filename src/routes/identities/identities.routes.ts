import { createRoute, z } from "@hono/zod-openapi";
import {
  IdentityProviderSchema,
  IdentitySchema,
  LinkIdentityRequestSchema,
  LinkStartSchema,
  OidcCallbackSchema,
  OidcExchangeRequestSchema,
  OidcStartQuerySchema,
} from "../../schemas/identities.ts";
import { SignedInSchema } from "../../schemas/tokens.ts";
import { adminOnly, anyUser, bearerSecurity as security, userWrites } from "../access.ts";
import { exampleSignIn } from "../examples.ts";
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

const tags = ["Identity providers"];
const ProviderParam = z.object({
  provider: z
    .string()
    .max(32)
    .openapi({ param: { name: "provider", in: "path" }, example: "google" }),
});
const exampleIdentity = {
  id: "8b2f6c1e-3d4a-4b5c-9d6e-7f8a9b0c1d2e",
  provider: "google",
  email: "ada@gmail.com",
  linked_at: "2026-11-02T09:14:00.000Z",
  last_sign_in_at: "2026-12-01T08:02:11.000Z",
};
const identityList = jsonContent(z.array(IdentitySchema), [exampleIdentity]);
const identityIdParam = (name: string) => z.uuid().openapi({ param: { name, in: "path" }, example: exampleIdentity.id });
const redirect = (description: string) => ({
  description,
  headers: { Location: { description: "Where the browser goes next", schema: { type: "string" as const } } },
});
/** What the callback can answer instead of sending the browser on. */
const CALLBACK_PROBLEMS = [
  ...LIMITED_PROBLEMS,
  ...DATABASE_PROBLEMS,
  "oidc_provider_unknown",
  "oidc_state_mismatch",
  "oidc_failed",
  "oidc_email_unverified",
  "account_disabled",
  "account_pending_deletion",
  "email_not_verified",
  "identity_taken",
  "link_invalid",
] as const;
const callbackDescription =
  "Where the provider sends the browser back (register `{PUBLIC_ORIGIN}/auth/oidc/{provider}/callback` with it). The " +
  "answer must come to the browser that started (its sealed, `HttpOnly` cookie holds the state, nonce and PKCE " +
  "verifier); the code is exchanged with the provider and its ID token checked (issuer, audience, expiry, nonce, " +
  "signature against the provider's keys). Then the account rules: a known identity signs its account in; a new one " +
  "needs an address the provider verified, and is linked to the account that proved that address (its owner is " +
  "mailed), or makes a new verified account without a password (a signup nobody proved gives way). The browser goes " +
  "back to `return_to` with `#oidc_code=…` (exchange it at POST /auth/oidc/exchange within a minute) or, for a link, " +
  "`#oidc_linked={provider}`. Never a token in a URL.";

export const listProviders = createRoute({
  method: "get",
  path: "/auth/oidc/providers",
  operationId: "listIdentityProviders",
  tags,
  security: [],
  summary: "The providers you can sign in with",
  description: "One “Sign in with …” button each: send the browser to GET /auth/oidc/{id}/start.",
  responses: {
    200: {
      description: "The configured providers",
      content: jsonContent(z.array(IdentityProviderSchema), [{ id: "google", label: "Google" }]),
    },
    ...problemResponses(...LIMITED_PROBLEMS),
  },
});

export const start = createRoute({
  method: "get",
  path: "/auth/oidc/{provider}/start",
  operationId: "startIdentityProviderSignIn",
  tags,
  security: [],
  summary: "Sign in with a provider (open in the browser)",
  description:
    "Sends the browser to the provider (authorization code flow with PKCE S256, `state` and `nonce`), with a cookie that " +
    "binds the sign-in to this browser for 10 minutes. `return_to` must be one of the deployment's OIDC_RETURN_URLS, exactly. " +
    "With a `code_challenge` (RFC 7636, S256) the code the sign-in comes back with works only with its verifier: an app " +
    "coming back through its own scheme must send one, since another app on the device can claim that scheme.",
  request: { params: ProviderParam, query: OidcStartQuerySchema },
  responses: {
    302: redirect("To the provider's sign-in page"),
    ...problemResponses(
      ...PARAMETER_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "oidc_provider_unknown",
      "oidc_return_not_allowed",
      "oidc_code_challenge_required",
      "service_unavailable",
    ),
  },
});

export const callback = createRoute({
  method: "get",
  path: "/auth/oidc/{provider}/callback",
  operationId: "identityProviderCallback",
  tags,
  security: [],
  summary: "The provider's answer (browser)",
  description: callbackDescription,
  request: { params: ProviderParam, query: OidcCallbackSchema },
  responses: { 303: redirect("Back to the client"), ...problemResponses(...PARAMETER_PROBLEMS, ...CALLBACK_PROBLEMS) },
});

export const postedCallback = createRoute({
  method: "post",
  path: "/auth/oidc/{provider}/callback",
  operationId: "identityProviderPostedCallback",
  tags,
  security: [],
  summary: "The provider's answer, posted (browser)",
  description: `${callbackDescription} This form is for providers that post their answer (Apple's \`response_mode=form_post\`).`,
  request: {
    params: ProviderParam,
    body: {
      required: true,
      content: {
        "application/x-www-form-urlencoded": {
          schema: OidcCallbackSchema,
          example: { state: "Xq3v0Yb3K1mZt7Lw2Xc8Rj5Np4Hd6Sa0Ge1Uf3Io9Ty", code: "c0a1b2c3d4e5f6" },
        },
      },
    },
  },
  responses: { 303: redirect("Back to the client"), ...problemResponses(...BODY_PROBLEMS, ...CALLBACK_PROBLEMS) },
});

export const exchange = createRoute({
  method: "post",
  path: "/auth/oidc/exchange",
  operationId: "exchangeIdentityProviderCode",
  tags,
  security: [],
  summary: "Finish a provider's sign-in",
  description:
    "Exchanges the one-time code of the callback's `#oidc_code=` (once, within a minute) for a session, answered as a " +
    'login\'s. Its tokens\' `amr` is `["fed"]`, or `["fed", "mfa"]` when the provider asserted a second factor. An ' +
    "account with an authenticator app answers 401 `mfa_required` with a `challenge` (complete it at POST " +
    "/auth/login/mfa) unless the provider asserted a second factor. Send the `device_token` of this device's last " +
    "sign-in, as for a login, and the `code_verifier` of the start's `code_challenge` if it had one (a wrong or missing " +
    "one answers as an unknown code, and leaves the code for its client).",
  request: jsonBody(OidcExchangeRequestSchema, {
    code: "42.8b2f6c1e-3d4a-4b5c-9d6e-7f8a9b0c1d2e.0.q9v0Yb3K1mZt7Lw2Xc8Rj5Np4Hd6Sa0Ge1Uf3Io9TyAb",
    device_token: exampleSignIn.device_token,
    code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
  }),
  responses: {
    200: { description: "Signed in; keep the device token for the next sign-in here", content: jsonContent(SignedInSchema, exampleSignIn) },
    ...problemResponses(...BODY_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, "oidc_code_invalid", "mfa_required"),
  },
});

export const startLink = createRoute({
  method: "post",
  path: "/auth/identities/{provider}/link",
  operationId: "linkIdentity",
  tags,
  security,
  middleware: [anyUser, userWrites] as const,
  summary: "Link a provider to your account",
  description:
    "Needs a recent sign-in, and your password where the account has one. Answers the address to open in the browser: it " +
    "goes to the provider and back to `return_to` with `#oidc_linked={provider}`. It works once, for 10 minutes, and " +
    "only links to your account; you are mailed when a provider is linked. An identity linked to another account is refused.",
  request: {
    params: ProviderParam,
    ...jsonBody(LinkIdentityRequestSchema, {
      current_password: "correct horse battery staple",
      return_to: "https://app.example.com/account",
    }),
  },
  responses: {
    200: {
      description: "Open it in the browser",
      content: jsonContent(LinkStartSchema, {
        url: "https://api.example.com/auth/oidc/google/start?return_to=https%3A%2F%2Fapp.example.com%2Faccount&link=q9v0Yb3K",
      }),
    },
    ...problemResponses(
      ...SIGNED_IN_PROBLEMS,
      ...BODY_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      "invalid_credentials",
      "account_locked",
      "oidc_provider_unknown",
      "oidc_return_not_allowed",
    ),
  },
});

export const listOwn = createRoute({
  method: "get",
  path: "/auth/identities",
  operationId: "listMyIdentities",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "Your linked providers",
  description: "The identity providers linked to your account: each signs you in; unlink one with DELETE /auth/identities/{id}.",
  responses: {
    200: { description: "Your identities, oldest first", content: identityList },
    ...problemResponses(...SIGNED_IN_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS),
  },
});

export const unlinkOwn = createRoute({
  method: "delete",
  path: "/auth/identities/{id}",
  operationId: "unlinkMyIdentity",
  tags,
  security,
  middleware: [anyUser, userWrites] as const,
  summary: "Unlink a provider",
  description:
    "Needs a recent sign-in. Refused (409 `last_sign_in_method`) when it is your only way to sign in (no password and no " +
    "other provider). The sessions it started end; you are mailed.",
  request: { params: z.object({ id: identityIdParam("id") }) },
  responses: {
    204: { description: "Unlinked" },
    ...problemResponses(
      ...SIGNED_IN_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      "identity_not_found",
      "last_sign_in_method",
    ),
  },
});

export const listOfUser = createRoute({
  method: "get",
  path: "/users/{id}/identities",
  operationId: "listUserIdentities",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "A user's linked providers (admin)",
  description: "The identity providers linked to a user's account, for a support call: which ones sign them in, since when, and when last.",
  request: { params: UserIdParamSchema },
  responses: {
    200: { description: "Their identities, oldest first", content: identityList },
    ...problemResponses(...ADMIN_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS),
  },
});

export const unlinkOfUser = createRoute({
  method: "delete",
  path: "/users/{id}/identities/{identity_id}",
  operationId: "unlinkUserIdentity",
  tags,
  security,
  middleware: [adminOnly, userWrites] as const,
  summary: "Unlink a user's provider (admin)",
  description:
    "For a provider account that was taken over or lost: the identity stops signing them in, every session of the user " +
    "ends, and the user is told; recorded as `identity_unlinked` by an admin. Needs a recent sign-in. Not one's own " +
    "(409): an admin unlinks theirs as its owner. The account's last way to sign in is never removed (409).",
  request: { params: UserIdParamSchema.extend({ identity_id: identityIdParam("identity_id") }) },
  responses: {
    204: { description: "Unlinked" },
    ...problemResponses(
      ...ADMIN_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "identity_not_found",
      "last_sign_in_method",
      "cannot_unlink_own_identity",
    ),
  },
});
