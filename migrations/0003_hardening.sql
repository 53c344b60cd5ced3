-- Codes: each one names the address it was sent to, so limits can count codes per address whoever
-- asked for them; the attempt budget moves from each code to the address (code_attempts), so issuing a
-- new code never refills it.
alter table one_time_codes rename column new_email to address;
alter table one_time_codes rename constraint one_time_codes_new_email_normalised to one_time_codes_address_normalised;
update one_time_codes c set address = u.email from users u where c.user_id = u.id and c.address is null;
alter table one_time_codes alter column address set not null;
alter table one_time_codes drop column attempts;
create index one_time_codes_address_created_idx on one_time_codes (address, created_at);

-- Guesses at the codes sent to an address, per kind of proof and per client network (an IPv4 address
-- or an IPv6 /64; '' when unknown), counted within a window that starts at the first one: the budget
-- belongs to the address, not to a code, so issuing a new code never refills it.
create table code_attempts (
  address        text not null,
  scope          text not null constraint code_attempts_scope_check check (scope in ('verify', 'reset_password')),
  client         text not null,
  attempts       integer not null constraint code_attempts_attempts_check check (attempts > 0),
  window_ends_at timestamptz not null,
  primary key (address, scope, client)
);
create index code_attempts_window_idx on code_attempts (window_ends_at);

-- Refresh tokens: which client spent a token, so a replay within the grace window is honoured only for it.
alter table refresh_tokens add column used_by bytea;

-- Mail: a message is pointless after the code it carries expires; one that cannot be sent by then, or
-- after too many tries, is dead: kept a while for the record (bodies scrubbed), never sent.
alter table email_outbox add column expires_at timestamptz;
update email_outbox set expires_at = created_at + interval '1 day';
alter table email_outbox alter column expires_at set not null;
alter table email_outbox add column dead_at timestamptz;
drop index email_outbox_unsent_idx;
create index email_outbox_due_idx on email_outbox (next_attempt_at) where sent_at is null and dead_at is null;
create index email_outbox_address_created_idx on email_outbox (to_address, created_at);
