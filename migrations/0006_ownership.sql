-- Who owns an account, and how sure we are.

-- Consecutive wrong passwords, exactly, per account: each try is counted as it is read, before the
-- password is checked, and a right one (or a completed reset) clears them. After a few, tries wait
-- longer and longer; after 100 (NIST SP 800-63B §5.2.2), only a reset opens the account again.
alter table users add column login_failures integer not null default 0 constraint users_login_failures_check check (login_failures >= 0),
  add column login_blocked_until timestamptz;

-- Ending every session of a user at once: the user's generation moves on, and every token of an older
-- generation is refused, at the edge through one entry per user whatever the number of sessions. The
-- cron copies recent endings to the edge again, newest first.
alter table users add column session_generation integer not null default 0 constraint users_session_generation_check check (session_generation >= 0),
  add column sessions_ended_at timestamptz;
create index users_sessions_ended_idx on users (sessions_ended_at) where sessions_ended_at is not null;

-- Wrong codes per address and kind of proof, over any length of time: after 100 in a row that kind of
-- code stops working for a while (the owner is told), and each further wrong one pauses it again.
create table code_failures (
  address         text not null,
  scope           text not null constraint code_failures_scope_check check (scope in ('verify', 'reset_password')),
  failures        integer not null constraint code_failures_failures_check check (failures >= 0),
  paused_until    timestamptz,
  last_failure_at timestamptz not null,
  primary key (address, scope)
);

-- Which ids `npm run users -- import` wrote, so that running it again never brings back a user deleted
-- since. Ids already imported are those whose signed_up event says so.
create table imported_users (
  id          bigint primary key,
  imported_at timestamptz not null
);
insert into imported_users (id, imported_at)
select user_id, min(created_at) from auth_events where type = 'signed_up' and details ->> 'by' = 'import' and user_id is not null group by user_id;

-- The audit trail learns what these rules do.
alter table auth_events drop constraint auth_events_type_check;
alter table auth_events add constraint auth_events_type_check check (type in (
  'signed_up', 'email_verified', 'login_succeeded', 'login_failed', 'refresh_replayed',
  'refresh_reuse_detected', 'logged_out', 'session_ended', 'password_reset_requested',
  'password_reset_completed', 'password_changed', 'email_change_requested', 'email_changed',
  'role_changed', 'status_changed', 'user_deleted', 'codes_paused'));
