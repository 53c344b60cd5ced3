// Leaving the shop and taking one's data along: cancelling a deletion, and the document an export answers
// (GDPR Articles 17 and 20). An export holds facts about secrets, never a secret or its hash.
import { z } from "zod";
import { CodePurposeSchema } from "./codes.ts";
import { AuthEventSchema } from "./events.ts";
import { AuthMethodSchema } from "./mfa.ts";
import { PasskeySchema } from "./passkeys.ts";
import { LastSignInSchema, UserSchema } from "./user.ts";

export const CancelDeletionRequestSchema = z
  .strictObject({
    token: z.string().min(1).max(128).meta({
      description: "The token of the link mailed when the deletion was asked for",
      example: "q3Zp0bS1x7vJmW2eN8cK4rT6yU9aD5fG1hL3oP0iE2s",
    }),
  })
  .meta({ id: "CancelDeletionRequest" });
export type CancelDeletionRequest = z.infer<typeof CancelDeletionRequestSchema>;

const time = () => z.iso.datetime();

export const DataExportSchema = z
  .object({
    exported_at: time(),
    account: UserSchema.extend({
      verified_at: time().nullable().meta({ description: "When the address was first proved" }),
      updated_at: time(),
      last_sign_in: LastSignInSchema.nullable(),
    }),
    sessions: z.array(
      z.object({
        id: z.uuid(),
        created_at: time().meta({ description: "When the sign-in that started it happened" }),
        last_refreshed_at: time().nullable(),
        user_agent: z.string(),
        client_address: z.string().nullable().meta({ description: "The network the sign-in came from" }),
        amr: z.array(AuthMethodSchema).meta({ description: "How it was signed in (RFC 8176)" }),
        auth_time: time().meta({ description: "When its person last proved every factor" }),
      }),
    ),
    second_factor: z
      .object({
        method: z.literal("totp"),
        on_since: time().nullable().meta({ description: "When it was turned on; null while its enrolment is pending" }),
        recovery_codes_left: z.number().int(),
      })
      .nullable(),
    identities: z
      .array(
        z.object({
          provider: z.string(),
          email: z.string().nullable().meta({ description: "The address the provider gave when it was linked" }),
          linked_at: time(),
          last_sign_in_at: time().nullable(),
        }),
      )
      .meta({ description: "The identity providers linked to the account (never the provider's tokens: none are kept)" }),
    passkeys: z.array(PasskeySchema).meta({ description: "The account's passkeys (never a key: the public half stays here too)" }),
    devices: z
      .array(
        z.object({
          first_sign_in_at: time(),
          last_sign_in_at: time(),
          user_agent: z.string(),
          client_address: z.string().nullable().meta({ description: "The network of its last sign-in" }),
          country: z.string().nullable(),
        }),
      )
      .meta({ description: "The devices the account signs in from, newest sign-in first (never their tokens)" }),
    codes: z
      .array(
        z.object({
          purpose: CodePurposeSchema,
          address: z.string(),
          created_at: time(),
          expires_at: time(),
          used_at: time().nullable(),
        }),
      )
      .meta({ description: "The one-time codes mailed to the account that are still kept (never the code)" }),
    mail: z
      .array(z.object({ to: z.string(), subject: z.string(), created_at: time(), sent_at: time().nullable() }))
      .meta({ description: "Messages to the account's address that are still kept (bodies are scrubbed once sent)" }),
    events: z.array(AuthEventSchema).meta({ description: "The audit trail's events about the account, newest first" }),
  })
  .meta({ id: "DataExport", description: "Everything the service keeps about one account; never a password, code, token or hash" });
export type DataExport = z.infer<typeof DataExportSchema>;
