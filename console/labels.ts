// Words for the API's codes. Each table covers its whole enum (the compiler checks), so a value the API
// adds shows up here as a type error instead of a blank on screen.
import type { AuthEventType, UserRole, UserStatus } from "./api.ts";

export const STATUS_LABELS: Record<UserStatus, string> = {
  unverified: "Unverified",
  verified: "Verified",
  disabled: "Disabled",
  pending_deletion: "Being deleted",
};

export const ROLE_LABELS: Record<UserRole, string> = {
  user: "User",
  admin: "Admin",
};

export const EVENT_LABELS: Record<AuthEventType, string> = {
  signed_up: "Signed up",
  email_verified: "Email verified",
  login_succeeded: "Logged in",
  login_failed: "Login failed",
  refresh_replayed: "Refresh replayed",
  refresh_reuse_detected: "Refresh token reused",
  logged_out: "Logged out",
  session_ended: "Session ended",
  password_reset_requested: "Password reset requested",
  password_reset_completed: "Password reset",
  password_changed: "Password changed",
  email_change_requested: "Email change requested",
  email_changed: "Email changed",
  role_changed: "Role changed",
  status_changed: "Status changed",
  user_deleted: "User deleted",
  codes_paused: "Codes paused",
  mfa_enabled: "Second factor on",
  mfa_disabled: "Second factor off",
  mfa_reset: "Second factor reset",
  mfa_failed: "Wrong second-factor code",
  recovery_code_used: "Recovery code used",
  reauthenticated: "Signed in again",
  device_replayed: "Old device token presented",
  device_forgotten: "Device signed out",
  sign_in_reported: "Sign-in reported: not them",
  deletion_requested: "Deletion asked for",
  deletion_cancelled: "Deletion cancelled",
  data_exported: "Data exported",
  identity_linked: "Identity linked",
  identity_unlinked: "Identity unlinked",
  passkey_added: "Passkey added",
  passkey_renamed: "Passkey renamed",
  passkey_removed: "Passkey removed",
  passkey_failed: "Passkey refused",
  account_unlocked: "Unlocked",
  users_exported: "Users exported",
};

function isKeyOf<T extends string>(table: Record<T, string>, value: string | null): value is T {
  return value !== null && Object.hasOwn(table, value);
}

export const isUserStatus = (value: string | null): value is UserStatus => isKeyOf(STATUS_LABELS, value);
export const isUserRole = (value: string | null): value is UserRole => isKeyOf(ROLE_LABELS, value);
export const isEventType = (value: string | null): value is AuthEventType => isKeyOf(EVENT_LABELS, value);

/** The <option>s of a filter: "any" first, then every value of the table. */
export function filterOptions(table: Record<string, string>, anyLabel: string): [value: string, label: string][] {
  return [["", anyLabel], ...Object.entries(table)];
}
