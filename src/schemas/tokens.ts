import { z } from "zod";
import { DeviceTokenSchema } from "./devices.ts";
import { EmailSchema, PresentedPasswordSchema } from "./user.ts";

export const TokenPairSchema = z
  .object({
    access_token: z.string().meta({ description: "A JWT for the Authorization: Bearer header" }),
    refresh_token: z.string().meta({ description: "Single use: each refresh returns a new one" }),
    token_type: z.literal("bearer"),
    expires_in: z.number().int().meta({ description: "Seconds until the access token expires", example: 900 }),
  })
  .meta({ id: "TokenPair" });

export type TokenPair = z.infer<typeof TokenPairSchema>;

// ours are 43 characters; the bound leaves room for an access token sent by mistake, which is then refused as a token
export const RefreshTokenSchema = z.string().min(1).max(2048);

/** What a sign-in answers: the token pair, and the device token the client keeps for its next sign-in on this device. */
export const SignedInSchema = TokenPairSchema.extend({
  device_token: z.string().meta({
    description:
      "Keep it on this device (an app's keychain, the browser's storage) and send it with the next login: this device then meets a run of wrong passwords of its own, and no new-device notice. It rotates at each sign-in: keep the newest",
    example: "3q2-7wE9rKd0Jx1Pq8VbN4mZs6TyUaHf5LcGi2oWnRk",
  }),
}).meta({ id: "SignedIn" });
export type SignedIn = z.infer<typeof SignedInSchema>;

export const LoginRequestSchema = z
  .strictObject({ email: EmailSchema, password: PresentedPasswordSchema, device_token: DeviceTokenSchema.optional() })
  .meta({ id: "LoginRequest" });
export type LoginRequest = z.infer<typeof LoginRequestSchema>;

export const RefreshRequestSchema = z.strictObject({ refresh_token: RefreshTokenSchema }).meta({ id: "RefreshRequest" });
export type RefreshRequest = z.infer<typeof RefreshRequestSchema>;
