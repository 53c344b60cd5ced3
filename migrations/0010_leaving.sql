-- Leaving the shop: an owner's deletion waits out a grace period (status pending_deletion), which a single-use link
-- mailed to them cancels; then the cron erases the account. The audit trail keeps its events with the person's
-- id, address and client details removed, a random pseudonym (the same for all of a person's events) in place of
-- the id.

alter table users drop constraint users_status_check;
alter table users add constraint users_status_check check (status in ('unverified', 'verified', 'disabled', 'pending_deletion'));

-- When the data goes, and the SHA-256 of the token that cancels the deletion until then (the token itself is only
-- ever in the owner's mail). Both are set exactly while the account is pending deletion.
alter table users add column deletion_due_at timestamptz, add column deletion_cancel_hash bytea;
alter table users add constraint users_deletion_check check (
  (status = 'pending_deletion') = (deletion_due_at is not null) and (deletion_due_at is null) = (deletion_cancel_hash is null));
create unique index users_deletion_cancel_key on users (deletion_cancel_hash) where deletion_cancel_hash is not null;
-- the cron's erasure of accounts whose grace period is over
create index users_deletion_due_idx on users (deletion_due_at) where deletion_due_at is not null;

-- An erased person's events: the id (as the account, or as the actor) becomes a pseudonym.
alter table auth_events add column user_pseudonym uuid, add column actor_pseudonym uuid;
alter table auth_events add constraint auth_events_user_named_once check (user_id is null or user_pseudonym is null),
  add constraint auth_events_actor_named_once check (actor_id is null or actor_pseudonym is null);
-- an erasure finds the events a person made and the ones that hold one of their addresses
create index auth_events_actor_idx on auth_events (actor_id) where actor_id is not null;
create index auth_events_email_idx on auth_events ((details ->> 'email')) where details ? 'email';
create index auth_events_to_address_idx on auth_events ((details ->> 'to')) where type in ('email_change_requested', 'email_changed');

alter table auth_events drop constraint auth_events_type_check;
alter table auth_events add constraint auth_events_type_check check (type in (
  'signed_up', 'email_verified', 'login_succeeded', 'login_failed', 'refresh_replayed',
  'refresh_reuse_detected', 'logged_out', 'session_ended', 'password_reset_requested',
  'password_reset_completed', 'password_changed', 'email_change_requested', 'email_changed',
  'role_changed', 'status_changed', 'user_deleted', 'codes_paused',
  'mfa_enabled', 'mfa_disabled', 'mfa_reset', 'mfa_failed', 'recovery_code_used', 'reauthenticated',
  'device_replayed', 'device_forgotten', 'sign_in_reported',
  'deletion_requested', 'deletion_cancelled', 'data_exported'));
