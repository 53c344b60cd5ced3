// The second factor's contract: how a session was made, enrolment, the login challenge, step-up.
import { z } from "zod";
import { PresentedPasswordSchema } from "./user.ts";
import { TokenPairSchema } from "./tokens.ts";

/**
 * RFC 8176 authentication methods a session can be made with: a password, a one-time password (the authenticator
 * app), a passkey (proof of a hardware-bound key, `hwk`, or of a synced one, `swk`, with the user verified by the
 * authenticator, `user`), a sign-in at an identity provider (`fed`), and `mfa` where that provider asserted a second
 * factor of its own.
 */
export const AuthMethodSchema = z.enum(["pwd", "otp", "hwk", "swk", "user", "fed", "mfa"]).meta({ id: "AuthMethod" });
export type AuthMethod = z.infer<typeof AuthMethodSchema>;

/**
 * Whether a session's methods prove more than one factor: a code of the app beside the password (or the provider's
 * sign-in), a passkey with user verification, which is one multi-factor cryptographic authenticator (NIST SP 800-63B
 * §5.1.9: the key is had, and the authenticator unlocked it with something known or something one is), or an
 * identity provider that asserted a second factor of its own (`mfa`).
 */
export function provedEveryFactor(amr: readonly AuthMethod[]): boolean {
  return amr.includes("otp") || amr.includes("hwk") || amr.includes("swk") || amr.includes("mfa");
}

export const TotpCodeSchema = z
  .string()
  .transform((code) => code.replace(/\s/g, ""))
  .pipe(z.string().regex(/^\d{6}$/, "Must be the 6-digit code of your authenticator app"))
  .meta({ example: "492039" });

export const RecoveryCodeSchema = z.string().min(1).max(64).meta({ example: "7K2QF-9XM4D" });

export const TotpEnrolmentSchema = z
  .object({
    secret: z
      .string()
      .meta({ description: "The shared secret in base32, for apps that cannot read the QR code", example: "JBSWY3DPEHPK3PXP" }),
    otpauth_uri: z.string().meta({
      example:
        "otpauth://totp/Coffee%20Shop:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Coffee%20Shop&algorithm=SHA1&digits=6&period=30",
    }),
    qr_svg: z.string().meta({ description: "An SVG image of the QR code of `otpauth_uri`" }),
  })
  .meta({ id: "TotpEnrolment" });
export type TotpEnrolment = z.infer<typeof TotpEnrolmentSchema>;

/** Starting an enrolment: the current password, so a stolen access token alone cannot put an attacker's app on the account. */
export const StartTotpRequestSchema = z.strictObject({ current_password: PresentedPasswordSchema }).meta({ id: "StartTotpRequest" });
export type StartTotpRequest = z.infer<typeof StartTotpRequestSchema>;

export const ConfirmTotpRequestSchema = z.strictObject({ code: TotpCodeSchema }).meta({ id: "ConfirmTotpRequest" });
export type ConfirmTotpRequest = z.infer<typeof ConfirmTotpRequestSchema>;

export const TotpEnabledSchema = TokenPairSchema.extend({
  recovery_codes: z.array(z.string()).meta({
    description: "Ten single-use codes, shown this once: each stands in for the app once",
    example: ["7K2QF-9XM4D", "Q3N8V-1HT6W"],
  }),
}).meta({ id: "TotpEnabled" });
export type TotpEnabled = z.infer<typeof TotpEnabledSchema>;

export const DisableTotpRequestSchema = z
  .strictObject({ current_password: PresentedPasswordSchema, code: TotpCodeSchema })
  .meta({ id: "DisableTotpRequest" });
export type DisableTotpRequest = z.infer<typeof DisableTotpRequestSchema>;

/** Completing a login with the second factor: the challenge's token and a code from the app, or a recovery code. */
export const MfaLoginRequestSchema = z
  .union([
    z.strictObject({ challenge_token: z.string().min(1).max(128), code: TotpCodeSchema }),
    z.strictObject({ challenge_token: z.string().min(1).max(128), recovery_code: RecoveryCodeSchema }),
  ])
  .meta({ id: "MfaLoginRequest" });
export type MfaLoginRequest = z.infer<typeof MfaLoginRequestSchema>;

/** What a login of an account with a factor answers for the right password, inside its `mfa_required` problem. */
export const MfaChallengeSchema = z
  .object({
    token: z.string().meta({ description: "Single use; send it to POST /auth/login/mfa with a code" }),
    expires_in: z.number().int().meta({ description: "Seconds the challenge lives", example: 300 }),
    methods: z.array(z.enum(["totp", "recovery_code"])),
  })
  .meta({ id: "MfaChallenge" });
export type MfaChallenge = z.infer<typeof MfaChallengeSchema>;

export const ReauthenticateRequestSchema = z
  .strictObject({
    password: PresentedPasswordSchema,
    code: TotpCodeSchema.optional().meta({ description: "Required when a second factor is on" }),
  })
  .meta({ id: "ReauthenticateRequest" });
export type ReauthenticateRequest = z.infer<typeof ReauthenticateRequestSchema>;

export const AccessTokenSchema = TokenPairSchema.pick({ access_token: true, token_type: true, expires_in: true }).meta({
  id: "AccessToken",
});
export type AccessToken = z.infer<typeof AccessTokenSchema>;
