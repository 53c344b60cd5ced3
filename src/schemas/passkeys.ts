// Passkeys' contract (WebAuthn Level 3, in its JSON forms): the options each ceremony answers, the credentials a
// client sends back, and the owner's view of their passkeys.
import { z } from "zod";
import { DeviceTokenSchema } from "./devices.ts";
import { EmailSchema, PresentedPasswordSchema } from "./user.ts";

/** A passkey's backup state: `multiDevice` may be synced to other devices (backup eligible), `singleDevice` never leaves its authenticator. */
export const PasskeyDeviceTypeSchema = z.enum(["singleDevice", "multiDevice"]).meta({ id: "PasskeyDeviceType" });
export type PasskeyDeviceType = z.infer<typeof PasskeyDeviceTypeSchema>;

/** What a challenge was made for: adding a passkey, signing in with one, or re-authenticating a session with one. */
export const PasskeyCeremonySchema = z.enum(["registration", "authentication", "reauthentication"]);
export type PasskeyCeremony = z.infer<typeof PasskeyCeremonySchema>;

// An attestation with a certificate chain is a few kilobytes; the body limit (16 KiB) bounds the whole anyway.
const Base64Url = z
  .string()
  .max(12_000)
  .regex(/^[A-Za-z0-9_-]*$/, "Must be base64url without padding");

export const TransportSchema = z.enum(["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"]);

export type Transport = z.infer<typeof TransportSchema>;

/** The client extensions a ceremony asks for (WebAuthn §9): this API asks only for `credProps`. */
const ExtensionsSchema = z.object({ credProps: z.boolean().optional() }).meta({ example: { credProps: true } });

const CredentialDescriptorSchema = z.object({
  id: Base64Url,
  type: z.string().meta({ example: "public-key" }),
  transports: z.array(z.string()).optional(),
});

/** What `navigator.credentials.create()` takes (PublicKeyCredentialCreationOptionsJSON), as a registration's options answer it. */
export const PasskeyCreationOptionsSchema = z
  .object({
    rp: z.object({ name: z.string(), id: z.string().optional() }),
    user: z.object({ id: Base64Url, name: z.string(), displayName: z.string() }),
    challenge: Base64Url,
    pubKeyCredParams: z.array(z.object({ alg: z.number().int(), type: z.literal("public-key") })),
    timeout: z.number().int().optional(),
    excludeCredentials: z.array(CredentialDescriptorSchema).optional(),
    authenticatorSelection: z
      .object({
        authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
        residentKey: z.enum(["discouraged", "preferred", "required"]).optional(),
        requireResidentKey: z.boolean().optional(),
        userVerification: z.enum(["discouraged", "preferred", "required"]).optional(),
      })
      .optional(),
    hints: z.array(z.string()).optional(),
    attestation: z.enum(["none", "indirect", "direct", "enterprise"]).optional(),
    extensions: ExtensionsSchema.optional(),
  })
  .meta({
    id: "PasskeyCreationOptions",
    description:
      "PublicKeyCredentialCreationOptionsJSON (WebAuthn Level 3): give it to PublicKeyCredential.parseCreationOptionsFromJSON(), then navigator.credentials.create()",
  });
export type PasskeyCreationOptions = z.infer<typeof PasskeyCreationOptionsSchema>;

/** What `navigator.credentials.get()` takes (PublicKeyCredentialRequestOptionsJSON). */
export const PasskeyRequestOptionsSchema = z
  .object({
    challenge: Base64Url,
    timeout: z.number().int().optional(),
    rpId: z.string().optional(),
    allowCredentials: z.array(CredentialDescriptorSchema).optional(),
    userVerification: z.enum(["discouraged", "preferred", "required"]).optional(),
    hints: z.array(z.string()).optional(),
    extensions: ExtensionsSchema.optional(),
  })
  .meta({
    id: "PasskeyRequestOptions",
    description:
      "PublicKeyCredentialRequestOptionsJSON (WebAuthn Level 3): give it to PublicKeyCredential.parseRequestOptionsFromJSON(), then navigator.credentials.get()",
  });
export type PasskeyRequestOptions = z.infer<typeof PasskeyRequestOptionsSchema>;

// A credential as PublicKeyCredential.toJSON() writes it; members this API does not read are dropped, not refused,
// so a browser that adds one keeps working.
const credentialCommon = {
  id: Base64Url.min(1),
  rawId: Base64Url.min(1),
  type: z.literal("public-key"),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
};

/** A new credential (RegistrationResponseJSON): the attestation `navigator.credentials.create()` made. */
export const PasskeyAttestationSchema = z
  .object({
    ...credentialCommon,
    response: z.object({
      clientDataJSON: Base64Url.min(1),
      attestationObject: Base64Url.min(1),
      transports: z.array(TransportSchema).optional(),
    }),
  })
  .meta({ id: "PasskeyAttestation", description: "RegistrationResponseJSON: what PublicKeyCredential.toJSON() gives after create()" });
export type PasskeyAttestation = z.infer<typeof PasskeyAttestationSchema>;

/** An assertion (AuthenticationResponseJSON): what `navigator.credentials.get()` signed. */
export const PasskeyAssertionSchema = z
  .object({
    ...credentialCommon,
    response: z.object({
      clientDataJSON: Base64Url.min(1),
      authenticatorData: Base64Url.min(1),
      signature: Base64Url.min(1),
      userHandle: Base64Url.optional(),
    }),
  })
  .meta({ id: "PasskeyAssertion", description: "AuthenticationResponseJSON: what PublicKeyCredential.toJSON() gives after get()" });
export type PasskeyAssertion = z.infer<typeof PasskeyAssertionSchema>;

export const PasskeyNameSchema = z.string().trim().min(1).max(64).meta({ example: "Ada's phone" });

/** Adding a passkey: the attestation, a name for it, and the current password (a session alone must not add one). */
export const RegisterPasskeyRequestSchema = z
  .strictObject({
    credential: PasskeyAttestationSchema,
    name: PasskeyNameSchema.optional().meta({ description: "How the list shows it; “Passkey” and the date when left out" }),
    current_password: PresentedPasswordSchema,
  })
  .meta({ id: "RegisterPasskeyRequest" });
export type RegisterPasskeyRequest = z.infer<typeof RegisterPasskeyRequestSchema>;

/** Asking to sign in with a passkey: on its own (a discoverable credential), or for the address typed. */
export const PasskeySignInOptionsRequestSchema = z
  .strictObject({
    email: EmailSchema.optional().meta({ description: "The address typed, if any: only a passkey of its account will do" }),
  })
  .meta({ id: "PasskeySignInOptionsRequest" });
export type PasskeySignInOptionsRequest = z.infer<typeof PasskeySignInOptionsRequestSchema>;

export const PasskeySignInRequestSchema = z
  .strictObject({ credential: PasskeyAssertionSchema, device_token: DeviceTokenSchema.optional() })
  .meta({ id: "PasskeySignInRequest" });
export type PasskeySignInRequest = z.infer<typeof PasskeySignInRequestSchema>;

export const PasskeyReauthenticationRequestSchema = z
  .strictObject({ credential: PasskeyAssertionSchema })
  .meta({ id: "PasskeyReauthenticationRequest" });
export type PasskeyReauthenticationRequest = z.infer<typeof PasskeyReauthenticationRequestSchema>;

export const RenamePasskeyRequestSchema = z.strictObject({ name: PasskeyNameSchema }).meta({ id: "RenamePasskeyRequest" });
export type RenamePasskeyRequest = z.infer<typeof RenamePasskeyRequestSchema>;

/** Removing one's own passkey: the current password, as for adding one. */
export const RemovePasskeyRequestSchema = z
  .strictObject({ current_password: PresentedPasswordSchema })
  .meta({ id: "RemovePasskeyRequest" });
export type RemovePasskeyRequest = z.infer<typeof RemovePasskeyRequestSchema>;

export const PasskeySchema = z
  .object({
    id: z.uuid().meta({ example: "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f" }),
    name: z.string().meta({ example: "Ada's phone" }),
    device_type: PasskeyDeviceTypeSchema,
    backed_up: z.boolean().meta({ description: "The authenticator reports it backed up (a synced passkey)" }),
    transports: z.array(z.string()).meta({ example: ["internal", "hybrid"] }),
    created_at: z.iso.datetime(),
    last_used_at: z.iso.datetime().nullable().meta({ description: "Its last sign-in or re-authentication" }),
  })
  .meta({ id: "Passkey" });
export type PasskeyView = z.infer<typeof PasskeySchema>;
