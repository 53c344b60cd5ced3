import { z } from "zod";

/** What a one-time code proves once it is entered. */
export const CodePurposeSchema = z.enum(["verify_email", "change_email", "reset_password"]);
export type CodePurpose = z.infer<typeof CodePurposeSchema>;

/** The purposes a code sent to an address proves by POST /auth/verify (a reset code has its own endpoint). */
export const AddressProofPurposeSchema = CodePurposeSchema.extract(["verify_email", "change_email"]);
export type AddressProofPurpose = z.infer<typeof AddressProofPurposeSchema>;

/** What a guess at a code tries to prove, each with a budget of its own per address. */
export const CodeScopeSchema = z.enum(["verify", "reset_password"]);
export type CodeScope = z.infer<typeof CodeScopeSchema>;

export const CODE_LENGTH = 6;

export const CodeSchema = z
  .string()
  .regex(new RegExp(`^\\d{${CODE_LENGTH}}$`), `Must be the ${CODE_LENGTH}-digit code from the email`)
  .meta({ example: "123456" });
