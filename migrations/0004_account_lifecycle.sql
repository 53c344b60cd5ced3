-- Sessions: what a person sees in "where am I logged in". Each login starts one; its refresh tokens
-- (the rotation chain) name it. Ending a session deletes it and its tokens and blacklists its id. No
-- foreign key from refresh_tokens: a rotation would then take a lock on the session row while a logout
-- holds it and waits for the token row, and the two would deadlock.
create table sessions (
  id             uuid primary key,
  user_id        bigint not null references users (id) on delete cascade,
  created_at     timestamptz not null,
  user_agent     text not null,
  client_address text
);
create index sessions_user_created_idx on sessions (user_id, created_at desc);

insert into sessions (id, user_id, created_at, user_agent, client_address)
select session_id, min(user_id), min(created_at), '', null from refresh_tokens group by session_id;

-- An admin's ban: sessions end at once, login with the right password says so, nothing purges it.
alter table users drop constraint users_status_check;
alter table users add constraint users_status_check check (status in ('unverified', 'verified', 'disabled'));
-- the last active admin is looked up on every change of an admin's role or status
create index users_active_admins_idx on users (id) where role = 'admin' and status = 'verified';

-- An append-only audit trail, written by the statement that does what it records. No foreign keys:
-- the trail outlives the accounts it mentions.
create table auth_events (
  id             bigint generated always as identity primary key,
  type           text not null constraint auth_events_type_check check (type in (
                   'signed_up', 'email_verified', 'login_succeeded', 'login_failed', 'refresh_replayed',
                   'refresh_reuse_detected', 'logged_out', 'session_ended', 'password_reset_requested',
                   'password_reset_completed', 'password_changed', 'email_change_requested', 'email_changed',
                   'role_changed', 'status_changed', 'user_deleted')),
  user_id        bigint,
  actor_id       bigint,
  client_address text,
  user_agent     text,
  request_id     text,
  details        jsonb not null default '{}',
  created_at     timestamptz not null
);
create index auth_events_user_idx on auth_events (user_id, id desc);
create index auth_events_type_idx on auth_events (type, id desc);
create index auth_events_created_idx on auth_events (created_at);
