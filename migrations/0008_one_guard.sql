-- One place mints a session's standing: the generation a session was made in is kept on its row, beside how
-- it was made (`amr`) and when its person last proved every factor (`auth_time`), so every token of it is
-- minted from the row as the statement that wrote it returned it.
alter table sessions add column generation integer;
update sessions set generation = users.session_generation from users where users.id = sessions.user_id;
alter table sessions alter column generation set not null,
  add constraint sessions_generation_check check (generation >= 0);
