import { z } from "zod";
import { CodeSchema } from "./codes.ts";
import { EmailSchema, NameSchema, NewPasswordSchema, PresentedPasswordSchema } from "./user.ts";

export const SignupRequestSchema = z
  .strictObject({
    email: EmailSchema,
    password: NewPasswordSchema,
    first_name: NameSchema.optional(),
    last_name: NameSchema.optional(),
  })
  .meta({ id: "SignupRequest" });
export type SignupRequest = z.infer<typeof SignupRequestSchema>;

export const VerifyRequestSchema = z
  .strictObject({
    email: EmailSchema,
    code: CodeSchema,
    password: PresentedPasswordSchema.optional().meta({
      description:
        "Completing a signup: the password of the signup, checked against the latest signup for the address. Not needed to prove a new address of an email change.",
    }),
  })
  .meta({ id: "VerifyRequest" });
export type VerifyRequest = z.infer<typeof VerifyRequestSchema>;

export const ResendCodeRequestSchema = z.strictObject({ email: EmailSchema }).meta({ id: "ResendCodeRequest" });
export type ResendCodeRequest = z.infer<typeof ResendCodeRequestSchema>;
