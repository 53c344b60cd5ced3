-- Every timestamp that a rule compares comes from the Worker's clock, never the database's own: a
-- row stamped by Postgres's now() and judged by the Worker's clock (or a test's) could be off by the
-- difference between the two. Without defaults, an insert that forgets a timestamp fails at once, and
-- the generated table types require it.
alter table users alter column created_at drop default, alter column updated_at drop default;
alter table one_time_codes alter column created_at drop default;
alter table refresh_tokens alter column created_at drop default;
alter table revoked_tokens alter column revoked_at drop default;
alter table email_outbox alter column created_at drop default;
