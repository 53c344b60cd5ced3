-- The admin console answers the support calls. An admin's unlock of an account shut out by wrong passwords, and an
-- export of the users list, are audited as events of their own.

alter table auth_events drop constraint auth_events_type_check;
alter table auth_events add constraint auth_events_type_check check (type in (
  'signed_up', 'email_verified', 'login_succeeded', 'login_failed', 'refresh_replayed',
  'refresh_reuse_detected', 'logged_out', 'session_ended', 'password_reset_requested',
  'password_reset_completed', 'password_changed', 'email_change_requested', 'email_changed',
  'role_changed', 'status_changed', 'user_deleted', 'codes_paused',
  'mfa_enabled', 'mfa_disabled', 'mfa_reset', 'mfa_failed', 'recovery_code_used', 'reauthenticated',
  'device_replayed', 'device_forgotten', 'sign_in_reported',
  'deletion_requested', 'deletion_cancelled', 'data_exported',
  'passkey_added', 'passkey_renamed', 'passkey_removed', 'passkey_failed',
  'identity_linked', 'identity_unlinked',
  'account_unlocked', 'users_exported'));

-- Each account's last sign-in (when, which client, from which network), written by the statement that starts the
-- session: "was that me?" is answered from the account itself, whatever sessions have ended since.
alter table users add column last_sign_in_at timestamptz,
  add column last_sign_in_user_agent text,
  add column last_sign_in_address text;

-- Lists that scale. The users list is sorted by when each was created, last signed in (never: last), or by address,
-- each paged by keyset on an index of its own; and searched anywhere in the address or the names through a trigram
-- index (pg_trgm: on Neon, on PostgreSQL's contrib, and loaded into PGlite by the local services). Writes to users
-- (logins among them) wait while each index is built: at a million users about 0.3 s, 0.4 s and 4.5 s on two cores.
create extension if not exists pg_trgm;
create index users_created_idx on users (created_at, id);
create index users_last_sign_in_idx on users ((coalesce(last_sign_in_at, '-infinity'::timestamptz)), id);
create index users_search_idx on users
  using gin ((email || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, '')) gin_trgm_ops);

-- A picture of the last days: sign-ups, sign-ins and refused sign-ins (a wrong password asked again of a signed-in
-- person is no sign-in) counted per day by one statement over the audit trail, reading only this index (their times
-- and types) for the days asked.
create index auth_events_daily_idx on auth_events (created_at) include (type)
  where type in ('signed_up', 'login_succeeded') or (type = 'login_failed' and not details ? 'during');
