// Every problem the API can answer with, as RFC 9457 problem details. Clients switch on `code` (or
// `type`), never on text; routes declare which of these they answer with, from this table.
import { z } from "zod";

type ProblemStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 422 | 429 | 500 | 503;

export const problemTable = {
  bad_request: { status: 400, title: "Bad request" },
  malformed_json: { status: 400, title: "Malformed JSON" },
  code_invalid: { status: 400, title: "Wrong, expired or used-up code" },
  link_invalid: { status: 400, title: "Used, expired or unknown link" },
  signup_password_mismatch: { status: 400, title: "Not the password of the latest signup" },
  oidc_state_mismatch: { status: 400, title: "Sign-in not started in this browser" },
  oidc_return_not_allowed: { status: 400, title: "Return address not allowed" },
  oidc_code_invalid: { status: 400, title: "Used, expired or unknown sign-in code" },
  oidc_code_challenge_required: { status: 400, title: "A code challenge is required for this return address" },
  deletion_token_invalid: { status: 400, title: "Unknown or used cancellation, or the deletion is done" },
  passkey_challenge_invalid: { status: 400, title: "Unknown, expired or used passkey challenge" },
  unauthorized: { status: 401, title: "Authentication required" },
  invalid_token: { status: 401, title: "Invalid token" },
  invalid_credentials: { status: 401, title: "Wrong email or password" },
  mfa_required: { status: 401, title: "Second factor required" },
  mfa_code_invalid: { status: 401, title: "Wrong second-factor code" },
  oidc_failed: { status: 401, title: "Sign-in at the identity provider failed" },
  reauthentication_required: { status: 401, title: "Recent authentication required" },
  passkey_invalid: { status: 401, title: "Passkey not accepted" },
  email_not_verified: { status: 403, title: "Email address not verified" },
  account_disabled: { status: 403, title: "Account disabled" },
  account_locked: { status: 403, title: "Too many wrong passwords" },
  account_pending_deletion: { status: 403, title: "Account being deleted" },
  mfa_enrollment_required: { status: 403, title: "Second factor required for admins" },
  oidc_email_unverified: { status: 403, title: "Address not verified by the identity provider" },
  forbidden: { status: 403, title: "Forbidden" },
  not_found: { status: 404, title: "Not found" },
  user_not_found: { status: 404, title: "User not found" },
  session_not_found: { status: 404, title: "Session not found" },
  device_not_found: { status: 404, title: "Device not found" },
  identity_not_found: { status: 404, title: "Identity not found" },
  oidc_provider_unknown: { status: 404, title: "Identity provider not configured" },
  passkey_not_found: { status: 404, title: "Passkey not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  email_taken: { status: 409, title: "Email already registered" },
  identity_taken: { status: 409, title: "Identity linked to another account" },
  last_sign_in_method: { status: 409, title: "The last way to sign in" },
  cannot_delete_self: { status: 409, title: "Cannot delete yourself" },
  cannot_disable_self: { status: 409, title: "Cannot disable yourself" },
  cannot_reset_own_factor: { status: 409, title: "Cannot reset your own second factor" },
  last_admin: { status: 409, title: "The last active admin" },
  mfa_already_enabled: { status: 409, title: "Second factor already on" },
  mfa_not_enabled: { status: 409, title: "No second factor" },
  passkey_exists: { status: 409, title: "Passkey already registered" },
  cannot_remove_own_passkey: { status: 409, title: "Cannot remove your own passkey as an admin" },
  passkey_limit_reached: { status: 409, title: "As many passkeys as an account may hold" },
  cannot_unlink_own_identity: { status: 409, title: "Cannot unlink your own identity as an admin" },
  account_not_locked: { status: 409, title: "Nothing to unlock" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  validation_failed: { status: 422, title: "Validation failed" },
  password_breached: { status: 422, title: "Password found in data breaches" },
  too_many_requests: { status: 429, title: "Too many requests" },
  internal_error: { status: 500, title: "Internal server error" },
  service_unavailable: { status: 503, title: "Service unavailable" },
} as const satisfies Record<string, { status: ProblemStatus; title: string }>;

export type ProblemCode = keyof typeof problemTable;

// Object.keys cannot know that it returns exactly the table's keys; the table is a literal, so it does.
export const ProblemCodeSchema = z.enum(Object.keys(problemTable) as ProblemCode[]).meta({ id: "ProblemCode" });

export function problemType(code: ProblemCode): string {
  return `urn:coffee-shop:problem:${code.replaceAll("_", "-")}`;
}

export const FieldErrorSchema = z.object({
  in: z.string().meta({ description: "Where the field is: json (the body), query, param or header" }),
  field: z.string().meta({ example: "email" }),
  message: z.string().meta({ example: "Not a valid email address" }),
});
export type FieldError = z.infer<typeof FieldErrorSchema>;

export const ProblemSchema = z
  .object({
    type: z.string().meta({ example: "urn:coffee-shop:problem:validation-failed" }),
    code: ProblemCodeSchema,
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    request_id: z.string().optional(),
    errors: z.array(FieldErrorSchema).optional().meta({ description: "The failing fields, for validation errors" }),
  })
  .meta({ description: "An RFC 9457 problem detail" });

export type Problem = z.infer<typeof ProblemSchema>;
