-- The admin console answers the support calls. An admin's unlock of an account shut out by wrong passwords is
-- audited as its own event.

alter table auth_events drop constraint auth_events_type_check;
alter table auth_events add constraint auth_events_type_check check (type in (
  'signed_up', 'email_verified', 'login_succeeded', 'login_failed', 'refresh_replayed',
  'refresh_reuse_detected', 'logged_out', 'session_ended', 'password_reset_requested',
  'password_reset_completed', 'password_changed', 'email_change_requested', 'email_changed',
  'role_changed', 'status_changed', 'user_deleted', 'codes_paused',
  'mfa_enabled', 'mfa_disabled', 'mfa_reset', 'mfa_failed', 'recovery_code_used', 'reauthenticated',
  'device_replayed', 'device_forgotten', 'sign_in_reported',
  'deletion_requested', 'deletion_cancelled', 'data_exported',
  'identity_linked', 'identity_unlinked',
  'account_unlocked'));

-- Each account's last sign-in (when, which client, from which network), written by the statement that starts the
-- session: "was that me?" is answered from the account itself, whatever sessions have ended since.
alter table users add column last_sign_in_at timestamptz,
  add column last_sign_in_user_agent text,
  add column last_sign_in_address text;
