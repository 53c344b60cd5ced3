-- A second factor: TOTP (RFC 6238) with recovery codes, the challenge between a login's password and its
-- factor, and how each session was made (RFC 8176 `amr`, and `auth_time`) for step-up.

-- One TOTP factor per user. The secret is sealed (AES-GCM under a key derived from the server's secret):
-- the database must give it back to check a code, and a read of it alone must not. A factor is pending
-- until its first code confirms it. `last_step` is the time step of the last code accepted: a code is
-- accepted once. `failures` and `paused_until` are the run of wrong codes, as for emailed codes.
create table totp_factors (
  user_id       bigint primary key references users (id) on delete cascade,
  secret_sealed text not null,
  confirmed_at  timestamptz,
  last_step     bigint,
  failures      integer not null default 0 constraint totp_factors_failures_check check (failures >= 0),
  paused_until  timestamptz,
  created_at    timestamptz not null
);

-- Ten single-use recovery codes per factor, kept only as HMACs bound to their user.
create table recovery_codes (
  code_hash  bytea primary key,
  user_id    bigint not null references users (id) on delete cascade,
  used_at    timestamptz,
  created_at timestamptz not null
);
create index recovery_codes_user_idx on recovery_codes (user_id);

-- Between a login's right password and its factor: a single-use token (kept as SHA-256), bound to the
-- password hash that was checked and to the user's session generation, alive at most 5 minutes.
create table mfa_challenges (
  token_hash    bytea primary key,
  user_id       bigint not null references users (id) on delete cascade,
  password_hash text not null,
  generation    integer not null,
  expires_at    timestamptz not null,
  used_at       timestamptz,
  created_at    timestamptz not null
);
create index mfa_challenges_expires_idx on mfa_challenges (expires_at);

-- How each session was made, and when its person last proved who they are: its tokens carry both.
alter table sessions add column auth_time timestamptz, add column amr text[] not null default '{pwd}';
update sessions set auth_time = created_at;
alter table sessions alter column auth_time set not null;

alter table auth_events drop constraint auth_events_type_check;
alter table auth_events add constraint auth_events_type_check check (type in (
  'signed_up', 'email_verified', 'login_succeeded', 'login_failed', 'refresh_replayed',
  'refresh_reuse_detected', 'logged_out', 'session_ended', 'password_reset_requested',
  'password_reset_completed', 'password_changed', 'email_change_requested', 'email_changed',
  'role_changed', 'status_changed', 'user_deleted', 'codes_paused',
  'mfa_enabled', 'mfa_disabled', 'mfa_reset', 'mfa_failed', 'recovery_code_used', 'reauthenticated'));
