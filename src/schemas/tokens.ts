import { z } from "zod";
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

export const LoginRequestSchema = z.strictObject({ email: EmailSchema, password: PresentedPasswordSchema }).meta({ id: "LoginRequest" });
export type LoginRequest = z.infer<typeof LoginRequestSchema>;

export const RefreshRequestSchema = z.strictObject({ refresh_token: RefreshTokenSchema }).meta({ id: "RefreshRequest" });
export type RefreshRequest = z.infer<typeof RefreshRequestSchema>;
