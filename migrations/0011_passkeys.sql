-- Passkeys (WebAuthn): a key pair made by the person's authenticator, whose public half the account keeps. A
-- passkey signs in on its own (it proves possession of the key and, with user verification, something the person
-- knows or is), re-authenticates a session, and is added or removed as a way to sign in.

-- One row per credential. `credential_id` is the authenticator's id (what an assertion names); `id` is ours, for the
-- API's paths. The public key is the COSE key from the attestation. `sign_count` is the authenticator's signature
-- counter: an assertion must carry a higher one (unless the authenticator keeps none: always 0), else a cloned key
-- is suspected and it is refused. `device_type` and `backed_up` are the backup flags (a synced passkey is
-- `multiDevice`), kept as the last assertion reported them.
create table passkeys (
  id            uuid primary key,
  user_id       bigint not null references users (id) on delete cascade,
  credential_id bytea not null constraint passkeys_credential_id_key unique,
  public_key    bytea not null,
  sign_count    bigint not null default 0 constraint passkeys_sign_count_check check (sign_count >= 0),
  transports    text[] not null default '{}',
  device_type   text not null constraint passkeys_device_type_check check (device_type in ('singleDevice', 'multiDevice')),
  backed_up     boolean not null,
  aaguid        uuid not null,
  name          text not null,
  created_at    timestamptz not null,
  last_used_at  timestamptz
);
create index passkeys_user_idx on passkeys (user_id);

-- A ceremony's challenge: 32 random bytes the authenticator signs, kept as the SHA-256 of its base64url text,
-- single use, short-lived, bound to its ceremony and: for a registration or a re-authentication, to the signed-in
-- user and their session; for a sign-in after an address was typed, to that address (none: any account's passkey).
create table passkey_challenges (
  token_hash     bytea primary key,
  ceremony       text not null
    constraint passkey_challenges_ceremony_check check (ceremony in ('registration', 'authentication', 'reauthentication')),
  user_id        bigint references users (id) on delete cascade,
  session_id     uuid references sessions (id) on delete cascade,
  address        text,
  expires_at     timestamptz not null,
  used_at        timestamptz,
  created_at     timestamptz not null,
  -- a signed-in ceremony names its user and session; a sign-in names neither
  constraint passkey_challenges_binding_check check (
    (ceremony = 'authentication') = (user_id is null and session_id is null)
    and (ceremony = 'authentication' or address is null))
);
create index passkey_challenges_expires_idx on passkey_challenges (expires_at);

-- The passkey a session was signed in (or last re-authenticated) with: removing the passkey ends it.
alter table sessions add column passkey_id uuid references passkeys (id) on delete set null;
create index sessions_passkey_idx on sessions (passkey_id) where passkey_id is not null;

alter table auth_events drop constraint auth_events_type_check;
alter table auth_events add constraint auth_events_type_check check (type in (
  'signed_up', 'email_verified', 'login_succeeded', 'login_failed', 'refresh_replayed',
  'refresh_reuse_detected', 'logged_out', 'session_ended', 'password_reset_requested',
  'password_reset_completed', 'password_changed', 'email_change_requested', 'email_changed',
  'role_changed', 'status_changed', 'user_deleted', 'codes_paused',
  'mfa_enabled', 'mfa_disabled', 'mfa_reset', 'mfa_failed', 'recovery_code_used', 'reauthenticated',
  'device_replayed', 'device_forgotten', 'sign_in_reported',
  'deletion_requested', 'deletion_cancelled', 'data_exported',
  'passkey_added', 'passkey_renamed', 'passkey_removed', 'passkey_failed'));
