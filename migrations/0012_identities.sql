-- Signing in with an identity provider (OpenID Connect, and GitHub's OAuth 2): a person's identities, the
-- one-time codes a provider's callback answers (exchanged once for a session), and a signed-in person's intent to
-- link one, carried through the provider. An account a provider made has no password.
create table identities (
  id              uuid primary key,
  user_id         bigint not null references users (id) on delete cascade,
  provider        text not null,
  -- the provider's own name for the person: it never changes, unlike the address
  subject         text not null,
  -- the address the provider gave when the identity was linked
  email           text,
  linked_at       timestamptz not null,
  last_sign_in_at timestamptz,
  constraint identities_provider_subject_key unique (provider, subject)
);
create index identities_user_idx on identities (user_id);

-- Kept as SHA-256, single use (deleted when exchanged), a minute long.
create table identity_sign_ins (
  token_hash   bytea primary key,
  user_id      bigint not null references users (id) on delete cascade,
  identity_id  uuid not null references identities (id) on delete cascade,
  -- the provider asserted a second factor (its amr or acr, as its setting trusts them)
  multi_factor boolean not null,
  expires_at   timestamptz not null,
  created_at   timestamptz not null
);
create index identity_sign_ins_expires_idx on identity_sign_ins (expires_at);

-- A signed-in person's intent to link an identity of `provider` (after step-up and their password), kept as
-- SHA-256, ten minutes long, used once by the callback.
create table identity_links (
  token_hash bytea primary key,
  user_id    bigint not null references users (id) on delete cascade,
  provider   text not null,
  expires_at timestamptz not null,
  created_at timestamptz not null
);
create index identity_links_expires_idx on identity_links (expires_at);

alter table users alter column password_hash drop not null;

-- A login's challenge follows a password (its hash) or a provider's sign-in (the identity): one of the two.
alter table mfa_challenges alter column password_hash drop not null,
  add column identity_id uuid references identities (id) on delete cascade,
  add constraint mfa_challenges_proof_check check ((password_hash is null) <> (identity_id is null));

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
  'identity_linked', 'identity_unlinked'));

-- A session started through an identity remembers it: unlinking the identity ends those sessions.
alter table sessions add column identity_id uuid references identities (id) on delete set null;
