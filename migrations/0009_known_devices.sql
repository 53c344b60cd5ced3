-- Known devices (OWASP's device cookies): a successful sign-in answers a device token the client keeps and
-- presents at later sign-ins. A device has a run of wrong passwords of its own, so failures from elsewhere never
-- slow or lock the owner's known devices; a sign-in from a device the account has not seen is announced to the
-- owner, with a link that ends that device's sessions without signing in.
create table devices (
  id                  uuid primary key,
  user_id             bigint not null references users (id) on delete cascade,
  -- SHA-256 of the current token (it rotates at each sign-in), and of the one it replaced: presented again,
  -- that one is a replay, and the device is forgotten
  token_hash          bytea not null constraint devices_token_hash_key unique,
  previous_token_hash bytea,
  login_failures      integer not null default 0 constraint devices_login_failures_check check (login_failures >= 0),
  login_blocked_until timestamptz,
  -- where its last sign-in came from, for the owner's list and the notice
  user_agent          text not null,
  client_address      text,
  country             text,
  created_at          timestamptz not null,
  last_sign_in_at     timestamptz not null,
  -- the new-device notice: none for an account's first device, sent, or pending (a burst waits for the hour)
  notice              text not null constraint devices_notice_check check (notice in ('none', 'pending', 'sent')),
  noticed_at          timestamptz
);
create index devices_user_idx on devices (user_id);
create index devices_previous_token_idx on devices (previous_token_hash) where previous_token_hash is not null;
create index devices_pending_notice_idx on devices (user_id) where notice = 'pending';
-- the cron forgets devices unused for a year, oldest first
create index devices_last_sign_in_idx on devices (last_sign_in_at);

-- A session knows the device it was signed in from, and whether that device was known then. A new device's
-- first session carries the hash of the notice's "this wasn't me" token while it is good.
alter table sessions add column device_id uuid references devices (id) on delete set null,
  add column device_known boolean not null default false,
  add column report_token_hash bytea constraint sessions_report_token_hash_key unique,
  add column report_expires_at timestamptz;
create index sessions_device_idx on sessions (device_id) where device_id is not null;

-- A login's challenge remembers the known device its password came from (its run was the one counted).
alter table mfa_challenges add column device_id uuid references devices (id) on delete cascade;

alter table auth_events drop constraint auth_events_type_check;
alter table auth_events add constraint auth_events_type_check check (type in (
  'signed_up', 'email_verified', 'login_succeeded', 'login_failed', 'refresh_replayed',
  'refresh_reuse_detected', 'logged_out', 'session_ended', 'password_reset_requested',
  'password_reset_completed', 'password_changed', 'email_change_requested', 'email_changed',
  'role_changed', 'status_changed', 'user_deleted', 'codes_paused',
  'mfa_enabled', 'mfa_disabled', 'mfa_reset', 'mfa_failed', 'recovery_code_used', 'reauthenticated',
  'device_replayed', 'device_forgotten', 'sign_in_reported'));
