import { z } from "zod";

/** What a one-time code proves once it is entered. */
export const CodePurposeSchema = z.enum(["verify_email", "change_email", "reset_password"]);
export type CodePurpose = z.infer<typeof CodePurposeSchema>;

export const CODE_LENGTH = 6;

export const CodeSchema = z
  .string()
  .regex(new RegExp(`^\\d{${CODE_LENGTH}}$`), `Must be the ${CODE_LENGTH}-digit code from the email`)
  .meta({ example: "123456" });
