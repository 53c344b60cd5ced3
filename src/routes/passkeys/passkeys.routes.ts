import { createRoute, z } from "@hono/zod-openapi";
import { AccessTokenSchema } from "../../schemas/mfa.ts";
import {
  type PasskeyAssertion,
  PasskeyCreationOptionsSchema,
  PasskeyReauthenticationRequestSchema,
  type PasskeyRequestOptions,
  PasskeyRequestOptionsSchema,
  PasskeySchema,
  PasskeySignInOptionsRequestSchema,
  PasskeySignInRequestSchema,
  type PasskeyView,
  RegisterPasskeyRequestSchema,
  RemovePasskeyRequestSchema,
  RenamePasskeyRequestSchema,
} from "../../schemas/passkeys.ts";
import { SignedInSchema } from "../../schemas/tokens.ts";
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

const tags = ["Passkeys"];

/** What an assertion can meet: refused (signature, origin, relying party, user verification, counter), or its challenge dead. */
const ASSERTION_PROBLEMS = ["passkey_invalid", "passkey_challenge_invalid"] as const;
/** A change of how one signs in: a recent sign-in and the current password, counted as a login's. */
const CHANGE_PROBLEMS = [...STEP_UP_PROBLEMS, "invalid_credentials", "account_locked"] as const;

const passkeyIdParam = (name: string) => z.uuid().openapi({ param: { name, in: "path" }, example: "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f" });

const examplePasskey: PasskeyView = {
  id: "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
  name: "Ada's phone",
  device_type: "multiDevice",
  backed_up: true,
  transports: ["internal", "hybrid"],
  created_at: "2026-11-24T12:00:00.000Z",
  last_used_at: "2026-11-25T08:30:00.000Z",
};
const exampleChallenge = "q9v0Yb3K1mZt7Lw2Xc8Rj5Np4Hd6Sa0Ge1Uf3Io9Ty";
const exampleRequestOptions: PasskeyRequestOptions = {
  challenge: exampleChallenge,
  timeout: 300_000,
  rpId: "example.com",
  userVerification: "required",
};
const exampleAssertion: PasskeyAssertion = {
  id: "b3BhcXVlIGNyZWRlbnRpYWwgaWQ",
  rawId: "b3BhcXVlIGNyZWRlbnRpYWwgaWQ",
  type: "public-key",
  authenticatorAttachment: "platform",
  clientExtensionResults: {},
  response: {
    clientDataJSON:
      "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoicTl2MFliM0sxbVp0N0x3MlhjOFJqNU5wNEhkNlNhMEdlMVVmM0lvOVR5Iiwib3JpZ2luIjoiaHR0cHM6Ly9hcGkuZXhhbXBsZS5jb20iLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
    authenticatorData: "o3mm9u6vuaVeN4wRgDTidR5oL6ufLTCrE9ISVYbOGUMdAAAAAQ",
    signature: "MEUCIQDr3f8Yc5k2bQh1Wm9nT0pXd3VvYzFhR2RrM2NuZ2ZpAiB1Z0x2U2l0cGZ0eWxhY2s",
    userHandle: "NDI",
  },
};

export const registrationOptions = createRoute({
  method: "post",
  path: "/auth/passkeys/registration/options",
  operationId: "passkeyRegistrationOptions",
  tags,
  security,
  middleware: [anyUser, userWrites] as const,
  summary: "Start adding a passkey",
  description:
    "Answers the options for `navigator.credentials.create()`: a challenge bound to this session (single use, 5 minutes), " +
    "this account as the passkey's user, and its passkeys to exclude. A discoverable credential (resident key) and user " +
    "verification are required. Needs a recent sign-in; the password goes with the result (POST /auth/passkeys). An " +
    "account holds at most 20 passkeys (409 `passkey_limit_reached`).",
  responses: {
    200: {
      description: "Give these to the browser",
      content: jsonContent(PasskeyCreationOptionsSchema, {
        rp: { name: "Coffee Shop", id: "example.com" },
        user: { id: "NDI", name: "ada@example.com", displayName: "Ada Lovelace" },
        challenge: exampleChallenge,
        pubKeyCredParams: [
          { alg: -8, type: "public-key" },
          { alg: -7, type: "public-key" },
          { alg: -257, type: "public-key" },
        ],
        timeout: 300_000,
        excludeCredentials: [],
        authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
        attestation: "none",
        extensions: { credProps: true },
      }),
    },
    ...problemResponses(...SIGNED_IN_PROBLEMS, ...STEP_UP_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, "passkey_limit_reached"),
  },
});

export const register = createRoute({
  method: "post",
  path: "/auth/passkeys",
  operationId: "addPasskey",
  tags,
  security,
  middleware: [anyUser, userWrites] as const,
  summary: "Add a passkey",
  description:
    "With what `navigator.credentials.create()` made from the options (PublicKeyCredential.toJSON()) and the current " +
    "password (a wrong one counts as a failed login): the attestation is verified (origin, relying party, user " +
    "verification, the key), the challenge spent, and the passkey stored with its counter and backup flags. The address " +
    "is told. From now on the passkey signs in on its own, as every factor of the account.",
  request: jsonBody(RegisterPasskeyRequestSchema, {
    credential: {
      id: "b3BhcXVlIGNyZWRlbnRpYWwgaWQ",
      rawId: "b3BhcXVlIGNyZWRlbnRpYWwgaWQ",
      type: "public-key",
      authenticatorAttachment: "platform",
      clientExtensionResults: { credProps: { rk: true } },
      response: {
        clientDataJSON:
          "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoicTl2MFliM0sxbVp0N0x3MlhjOFJqNU5wNEhkNlNhMEdlMVVmM0lvOVR5Iiwib3JpZ2luIjoiaHR0cHM6Ly9hcGkuZXhhbXBsZS5jb20iLCJjcm9zc09yaWdpbiI6ZmFsc2V9",
        attestationObject: "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjE",
        transports: ["internal", "hybrid"],
      },
    },
    name: "Ada's phone",
    current_password: "correct horse battery staple",
  }),
  responses: {
    201: { description: "Added", content: jsonContent(PasskeySchema, { ...examplePasskey, last_used_at: null }) },
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...SIGNED_IN_PROBLEMS,
      ...CHANGE_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      ...ASSERTION_PROBLEMS,
      "passkey_exists",
      "passkey_limit_reached",
    ),
  },
});

const passkeyList = jsonContent(z.array(PasskeySchema), [examplePasskey]);

export const listOwn = createRoute({
  method: "get",
  path: "/auth/passkeys",
  operationId: "listMyPasskeys",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "Your passkeys",
  description: "Newest first, with their backup state and last use; never a key.",
  responses: {
    200: { description: "Your passkeys", content: passkeyList },
    ...problemResponses(...SIGNED_IN_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS),
  },
});

export const renameOwn = createRoute({
  method: "patch",
  path: "/auth/passkeys/{id}",
  operationId: "renameMyPasskey",
  tags,
  security,
  middleware: [anyUser, userWrites] as const,
  summary: "Rename one of your passkeys",
  description: "Only its name changes, which is how your list and the mails about it show it.",
  request: { params: z.object({ id: passkeyIdParam("id") }), ...jsonBody(RenamePasskeyRequestSchema, { name: "Ada's laptop" }) },
  responses: {
    200: { description: "Renamed", content: jsonContent(PasskeySchema, { ...examplePasskey, name: "Ada's laptop" }) },
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...SIGNED_IN_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "passkey_not_found",
    ),
  },
});

export const removeOwn = createRoute({
  method: "delete",
  path: "/auth/passkeys/{id}",
  operationId: "removeMyPasskey",
  tags,
  security,
  middleware: [anyUser, userWrites] as const,
  summary: "Remove one of your passkeys",
  description:
    "Needs a recent sign-in and the current password, as adding one does. The sessions it signed in end (this one too, " +
    "if it was one of them), and the address is told. The account's last way to sign in is never removed (409).",
  request: {
    params: z.object({ id: passkeyIdParam("id") }),
    ...jsonBody(RemovePasskeyRequestSchema, { current_password: "correct horse battery staple" }),
  },
  responses: {
    204: { description: "Removed" },
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...SIGNED_IN_PROBLEMS,
      ...CHANGE_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "passkey_not_found",
      "last_sign_in_method",
      "forbidden",
    ),
  },
});

export const signInOptions = createRoute({
  method: "post",
  path: "/auth/passkeys/authentication/options",
  operationId: "passkeySignInOptions",
  tags,
  security: [],
  summary: "Start signing in with a passkey",
  description:
    "Answers the options for `navigator.credentials.get()`: a challenge (single use, 5 minutes) for any account's passkey " +
    "(`{}`: the browser offers the passkeys it holds for this site), or for the account of the address typed. No list of " +
    "credentials comes back, for any address: the answer tells nothing of whether an account exists.",
  request: jsonBody(PasskeySignInOptionsRequestSchema, { email: "ada@example.com" }),
  responses: {
    200: { description: "Give these to the browser", content: jsonContent(PasskeyRequestOptionsSchema, exampleRequestOptions) },
    ...problemResponses(...BODY_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS),
  },
});

export const signIn = createRoute({
  method: "post",
  path: "/auth/passkeys/authentication",
  operationId: "signInWithPasskey",
  tags,
  security: [],
  summary: "Sign in with a passkey",
  description:
    "With what `navigator.credentials.get()` signed (PublicKeyCredential.toJSON()) and this device's token, if it has " +
    "one. The challenge is spent as it is read, before the signature is judged: each challenge is judged once. The " +
    "signature, origin, relying party, user verification and a counter that must go forward are checked. The tokens " +
    "carry `amr` [`hwk` or `swk`, `user`]: a passkey that verified its user counts as every factor, so no password and " +
    "no code of an authenticator app are asked for. A new device's sign-in is mailed to the owner, as a login's is.",
  request: jsonBody(PasskeySignInRequestSchema, { credential: exampleAssertion, device_token: exampleSignIn.device_token }),
  responses: {
    200: { description: "Signed in; keep the device token for the next sign-in here", content: jsonContent(SignedInSchema, exampleSignIn) },
    ...problemResponses(
      ...BODY_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      ...ASSERTION_PROBLEMS,
      "account_disabled",
      "email_not_verified",
    ),
  },
});

export const reauthenticationOptions = createRoute({
  method: "post",
  path: "/auth/passkeys/reauthentication/options",
  operationId: "passkeyReauthenticationOptions",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "Start proving it is you again, with a passkey",
  description: "Answers the options for `navigator.credentials.get()`: a challenge bound to this session, for one of your passkeys.",
  responses: {
    200: {
      description: "Give these to the browser",
      content: jsonContent(PasskeyRequestOptionsSchema, {
        ...exampleRequestOptions,
        allowCredentials: [{ id: "b3BhcXVlIGNyZWRlbnRpYWwgaWQ", type: "public-key", transports: ["internal"] }],
      }),
    },
    ...problemResponses(...SIGNED_IN_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS),
  },
});

export const reauthenticate = createRoute({
  method: "post",
  path: "/auth/passkeys/reauthentication",
  operationId: "reauthenticateWithPasskey",
  tags,
  security,
  middleware: [anyUser] as const,
  summary: "Prove it is you again with a passkey, without logging out",
  description:
    "For operations answering `reauthentication_required`, as POST /auth/reauthenticate with a password: the assertion " +
    "of this session's challenge answers an access token of the same session with a fresh `auth_time` and the passkey's " +
    "`amr`. It counts as every factor, so it renews a sign-in made with an authenticator app too.",
  request: jsonBody(PasskeyReauthenticationRequestSchema, { credential: exampleAssertion }),
  responses: {
    200: {
      description: "A fresh access token",
      content: jsonContent(AccessTokenSchema, { access_token: exampleTokens.access_token, token_type: "bearer", expires_in: 900 }),
    },
    ...problemResponses(...BODY_PROBLEMS, ...SIGNED_IN_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, ...ASSERTION_PROBLEMS),
  },
});

export const listOfUser = createRoute({
  method: "get",
  path: "/users/{id}/passkeys",
  operationId: "listUserPasskeys",
  tags,
  security,
  middleware: [adminOnly] as const,
  summary: "A user's passkeys (admin)",
  description: "Newest first, with their backup state and last use; never a key.",
  request: { params: UserIdParamSchema },
  responses: {
    200: { description: "Their passkeys", content: passkeyList },
    ...problemResponses(...ADMIN_PROBLEMS, ...PARAMETER_PROBLEMS, ...DATABASE_PROBLEMS, ...LIMITED_PROBLEMS, "user_not_found"),
  },
});

export const removeOfUser = createRoute({
  method: "delete",
  path: "/users/{id}/passkeys/{passkey_id}",
  operationId: "removeUserPasskey",
  tags,
  security,
  middleware: [adminOnly, userWrites] as const,
  summary: "Remove a user's passkey (admin)",
  description:
    "For a lost or stolen device: the passkey goes, every session of the user ends, and the user is told; recorded as " +
    "`passkey_removed` by an admin. Not one's own (409): an admin removes theirs with the password, as its owner. The " +
    "account's last way to sign in is never removed (409).",
  request: { params: UserIdParamSchema.extend({ passkey_id: passkeyIdParam("passkey_id") }) },
  responses: {
    204: { description: "Removed" },
    ...problemResponses(
      ...ADMIN_PROBLEMS,
      ...STEP_UP_PROBLEMS,
      ...PARAMETER_PROBLEMS,
      ...DATABASE_PROBLEMS,
      ...LIMITED_PROBLEMS,
      "passkey_not_found",
      "last_sign_in_method",
      "cannot_remove_own_passkey",
    ),
  },
});
