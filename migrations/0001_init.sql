-- The accounts core: users, their one-time codes, refresh-token sessions, the revocation blacklist
-- and the email outbox. Secrets (passwords, codes, refresh tokens) are only ever stored hashed.

create table users (
  id            bigint generated always as identity primary key,
  -- stored normalised (trimmed, lower-cased) so uniqueness is case-insensitive without a function index
  email         text not null constraint users_email_key unique
                constraint users_email_normalised check (email = lower(btrim(email)) and email <> ''),
  password_hash text not null,
  first_name    text,
  last_name     text,
  status        text not null default 'unverified' constraint users_status_check check (status in ('unverified', 'verified')),
  role          text not null default 'user' constraint users_role_check check (role in ('user', 'admin')),
  -- set the first time the address is proved; the cron purges only users who never verified
  verified_at   timestamptz,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);

-- `email like 'prefix%'` filters cannot use the unique index under a non-C collation.
create index users_email_prefix_idx on users (email text_pattern_ops);
-- the cron's purge of users who never verified
create index users_never_verified_created_idx on users (created_at) where verified_at is null;

create table one_time_codes (
  id          bigint generated always as identity primary key,
  user_id     bigint not null references users (id) on delete cascade,
  purpose     text not null constraint one_time_codes_purpose_check
              check (purpose in ('verify_email', 'change_email', 'reset_password')),
  code_hash   bytea not null,
  -- the address being proved, for purpose change_email
  new_email   text constraint one_time_codes_new_email_normalised check (new_email = lower(btrim(new_email))),
  expires_at  timestamptz not null,
  attempts    integer not null default 0 constraint one_time_codes_attempts_check check (attempts >= 0),
  consumed_at timestamptz,
  created_at  timestamptz not null default now()
);

-- at most one live code per user and purpose: issuing a new one replaces the old
create unique index one_time_codes_live_key on one_time_codes (user_id, purpose) where consumed_at is null;
create index one_time_codes_expires_idx on one_time_codes (expires_at);

-- The whitelist of refresh tokens. Revoking a session deletes its rows and blacklists the session.
create table refresh_tokens (
  token_hash  bytea primary key,             -- SHA-256 of the token; the token itself is never stored
  session_id  uuid not null,                 -- the family: every rotation of one login shares it
  user_id     bigint not null references users (id) on delete cascade,
  expires_at  timestamptz not null,
  created_at  timestamptz not null default now(),
  used_at     timestamptz                    -- spent by a rotation
);

create index refresh_tokens_session_idx on refresh_tokens (session_id);
create index refresh_tokens_user_idx on refresh_tokens (user_id);
create index refresh_tokens_expires_idx on refresh_tokens (expires_at);

-- The blacklist: ids of revoked tokens or sessions, kept until the last token they cover has expired.
-- Workers KV caches each row with a TTL of its remaining life.
create table revoked_tokens (
  token_id   text primary key,
  expires_at timestamptz not null,
  revoked_at timestamptz not null default now()
);

create index revoked_tokens_expires_idx on revoked_tokens (expires_at);
-- the cron copies the recent ones to the edge again
create index revoked_tokens_revoked_idx on revoked_tokens (revoked_at);

-- Mail is written here in the same statement as the change that causes it, then sent; the row id is
-- Resend's idempotency key, so a retry after an unknown outcome never delivers twice.
create table email_outbox (
  id              uuid primary key default gen_random_uuid(),
  to_address      text not null,
  subject         text not null,
  text_body       text not null,
  html_body       text not null,
  created_at      timestamptz not null default now(),
  attempts        integer not null default 0,
  next_attempt_at timestamptz not null,
  last_error      text,
  sent_at         timestamptz,
  provider_id     text
);

create index email_outbox_unsent_idx on email_outbox (next_attempt_at) where sent_at is null;
