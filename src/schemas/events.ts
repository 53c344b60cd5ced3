import { z } from "zod";

/** What the audit trail records. */
export const AuthEventTypeSchema = z
  .enum([
    "signed_up",
    "email_verified",
    "login_succeeded",
    "login_failed",
    "refresh_replayed",
    "refresh_reuse_detected",
    "logged_out",
    "session_ended",
    "password_reset_requested",
    "password_reset_completed",
    "password_changed",
    "email_change_requested",
    "email_changed",
    "role_changed",
    "status_changed",
    "user_deleted",
    "codes_paused",
    "mfa_enabled",
    "mfa_disabled",
    "mfa_reset",
    "mfa_failed",
    "recovery_code_used",
    "reauthenticated",
    "device_replayed",
    "device_forgotten",
    "sign_in_reported",
    "deletion_requested",
    "deletion_cancelled",
    "data_exported",
    "identity_linked",
    "identity_unlinked",
    "passkey_added",
    "passkey_renamed",
    "passkey_removed",
    "passkey_failed",
    "account_unlocked",
    "users_exported",
  ])
  .meta({ id: "AuthEventType" });
export type AuthEventType = z.infer<typeof AuthEventTypeSchema>;

/** Who ended sessions or changed an address, in the event's details. */
export const EndedBySchema = z.enum(["owner", "admin"]);
export type EndedBy = z.infer<typeof EndedBySchema>;

/** Why a login failed, in its event; clients only ever see the problem code. */
export const LoginFailureSchema = z.enum([
  "unknown_address",
  "wrong_password",
  "unverified",
  "disabled",
  "pending_deletion",
  "throttled",
  "locked",
]);
export type LoginFailure = z.infer<typeof LoginFailureSchema>;

export const AuthEventSchema = z
  .object({
    id: z.number().int().meta({ example: 1042 }),
    type: AuthEventTypeSchema,
    user_id: z.number().int().nullable().meta({ description: "The account the event is about, when known", example: 42 }),
    actor_id: z.number().int().nullable().meta({ description: "Who acted, when signed in (an admin, or the user)", example: 7 }),
    user_email: z
      .string()
      .nullable()
      .meta({ description: "The account's address now (null when unknown, erased, or in a data export)", example: "ada@example.com" }),
    actor_email: z
      .string()
      .nullable()
      .meta({ description: "The actor's address now (null when unknown, erased, or in a data export)", example: "grace@example.com" }),
    user_pseudonym: z
      .guid()
      .nullable()
      .meta({ description: "An erased account, in place of its id: the same for all of its events", example: null }),
    actor_pseudonym: z.guid().nullable().meta({ description: "An erased actor, in place of their id", example: null }),
    client_address: z.string().nullable().meta({ example: "203.0.113.9" }),
    user_agent: z.string().nullable(),
    request_id: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).meta({ example: { from: "user", to: "admin" } }),
    created_at: z.iso.datetime(),
  })
  .meta({ id: "AuthEvent", description: "One entry of the audit trail; never a password, code or token" });
export type AuthEvent = z.infer<typeof AuthEventSchema>;

/** One day (UTC) of the picture of sign-ups and sign-ins an admin sees at a glance. */
export const DailyCountSchema = z
  .object({
    day: z.iso.date().meta({ description: "The day, in UTC", example: "2026-11-24" }),
    signed_up: z.number().int().meta({ description: "Accounts made (signups, operators, identity providers)", example: 4 }),
    signed_in: z.number().int().meta({ description: "Sign-ins that started a session, by any way", example: 57 }),
    refused: z.number().int().meta({
      description: "Sign-ins refused at the password (a wrong one, an unknown address, a locked or disabled account)",
      example: 9,
    }),
  })
  .meta({ id: "DailyCount" });
export type DailyCount = z.infer<typeof DailyCountSchema>;
