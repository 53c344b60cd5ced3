import { z } from "zod";
import { CodeSchema } from "./codes.ts";
import { EmailSchema, NewPasswordSchema, PresentedPasswordSchema } from "./user.ts";

export const ForgotPasswordRequestSchema = z.strictObject({ email: EmailSchema }).meta({ id: "ForgotPasswordRequest" });
export type ForgotPasswordRequest = z.infer<typeof ForgotPasswordRequestSchema>;

export const ResetPasswordRequestSchema = z
  .strictObject({ email: EmailSchema, code: CodeSchema, new_password: NewPasswordSchema })
  .meta({ id: "ResetPasswordRequest" });
export type ResetPasswordRequest = z.infer<typeof ResetPasswordRequestSchema>;

export const ChangePasswordRequestSchema = z
  .strictObject({ current_password: PresentedPasswordSchema, new_password: NewPasswordSchema })
  .meta({ id: "ChangePasswordRequest" });
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequestSchema>;
