// Signing in with an identity provider: the providers a deployment configures, what the API answers of a
// person's identities, and the requests of the flow.
import { z } from "zod";
import { DeviceTokenSchema } from "./devices.ts";
import { PresentedPasswordSchema } from "./user.ts";

const ProviderId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "lower-case letters, digits and hyphens");

const common = {
  id: ProviderId,
  /** What a "Sign in with …" button says. */
  label: z.string().min(1).max(40).optional(),
  client_id: z.string().min(1),
};

/** Any OpenID Connect provider, by its issuer (discovery and keys are fetched from it and cached). */
const GenericProvider = z.strictObject({
  ...common,
  issuer: z.url(),
  client_secret: z.string().min(1),
  /** Values of the ID token's `amr` that say the person proved a second factor at the provider. */
  mfa_amr: z.array(z.string().min(1)).default(["mfa"]),
  /** Values of its `acr` that say so. */
  mfa_acr: z.array(z.string().min(1)).default([]),
});

const GoogleProvider = z.strictObject({ ...common, preset: z.literal("google"), client_secret: z.string().min(1) });
/** One Entra ID tenant (the `common` endpoint's ID tokens name each person's own tenant as issuer). */
const MicrosoftProvider = z.strictObject({
  ...common,
  preset: z.literal("microsoft"),
  tenant: z.string().regex(/^[0-9a-f-]{36}$/i, "a tenant id (a GUID)"),
  client_secret: z.string().min(1),
});
/** Sign in with Apple: the client secret is a JWT the API signs with the team's key. */
const AppleProvider = z.strictObject({
  ...common,
  preset: z.literal("apple"),
  team_id: z.string().min(1),
  key_id: z.string().min(1),
  private_key: z.string().includes("PRIVATE KEY", { message: "a PKCS #8 PEM private key" }),
});
/** GitHub: OAuth 2, not OpenID Connect: the address comes from its verified-emails API. */
const GitHubProvider = z.strictObject({ ...common, preset: z.literal("github"), client_secret: z.string().min(1) });

export const IdentityProviderSettingSchema = z.union([GoogleProvider, MicrosoftProvider, AppleProvider, GitHubProvider, GenericProvider]);
export type IdentityProviderSetting = z.infer<typeof IdentityProviderSettingSchema>;

/** A provider as the console lists it: "Sign in with {label}" starts at `start_url`. */
export const IdentityProviderSchema = z
  .object({
    id: ProviderId.meta({ example: "google" }),
    label: z.string().meta({ example: "Google" }),
  })
  .meta({ id: "IdentityProvider" });
export type IdentityProviderView = z.infer<typeof IdentityProviderSchema>;

/** One of a person's identities at a provider. */
export const IdentitySchema = z
  .object({
    id: z.uuid().meta({ example: "8b2f6c1e-3d4a-4b5c-9d6e-7f8a9b0c1d2e" }),
    provider: z.string().meta({ example: "google" }),
    email: z.string().nullable().meta({ description: "The address the provider gave when it was linked", example: "ada@gmail.com" }),
    linked_at: z.iso.datetime(),
    last_sign_in_at: z.iso.datetime().nullable(),
  })
  .meta({ id: "Identity" });
export type IdentityView = z.infer<typeof IdentitySchema>;

/** Where the browser goes back to once the provider is done, from the deployment's allow-list. */
export const ReturnToSchema = z.url().max(2048).meta({
  description: "Where the browser comes back to (one of the addresses the deployment allows), with `#oidc_code=…` on success",
  example: "https://app.example.com/signed-in",
});

export const OidcStartQuerySchema = z.object({
  return_to: ReturnToSchema,
  link: z.string().min(1).max(128).optional().meta({ description: "A link intent from POST /auth/identities/{provider}/link" }),
  code_challenge: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/, "must be the base64url SHA-256 of a code_verifier (43 characters, no padding)")
    .optional()
    .meta({
      description:
        "RFC 7636's S256 challenge of a verifier the client keeps: the code the sign-in comes back with then works only " +
        "with that verifier (POST /auth/oidc/exchange). Required when `return_to` is an app's own scheme, which another " +
        "app on the device can claim.",
      example: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    }),
});
export type OidcStartQuery = z.infer<typeof OidcStartQuerySchema>;

/** The provider's answer, as it comes back to the callback (in the query, or posted as a form). */
export const OidcCallbackSchema = z.looseObject({
  state: z.string().max(512).optional(),
  code: z.string().max(4096).optional(),
  error: z.string().max(256).optional(),
});

export const OidcExchangeRequestSchema = z
  .strictObject({
    code: z.string().min(1).max(128).meta({ description: "The one-time code the callback put in the return URL's fragment" }),
    device_token: DeviceTokenSchema.optional(),
    code_verifier: z
      .string()
      .regex(/^[A-Za-z0-9._~-]{43,128}$/, "must be 43 to 128 characters of A-Z, a-z, 0-9 and -._~ (RFC 7636)")
      .optional()
      .meta({ description: "The verifier whose challenge the start was given, if it was given one" }),
  })
  .meta({ id: "OidcExchangeRequest" });
export type OidcExchangeRequest = z.infer<typeof OidcExchangeRequestSchema>;

/** Linking an identity is a change of how one signs in: the current password, where the account has one. */
export const LinkIdentityRequestSchema = z
  .strictObject({
    current_password: PresentedPasswordSchema.optional().meta({ description: "Required when the account has a password" }),
    return_to: ReturnToSchema,
  })
  .meta({ id: "LinkIdentityRequest" });
export type LinkIdentityRequest = z.infer<typeof LinkIdentityRequestSchema>;

export const LinkStartSchema = z
  .object({ url: z.url().meta({ description: "Open it in the browser: it goes to the provider, and back to `return_to`" }) })
  .meta({ id: "LinkStart" });
