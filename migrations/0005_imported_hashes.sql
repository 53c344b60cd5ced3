-- Hashes imported from the old service (bcrypt, `$2a$`/`$2b$`/`$2y$`): every login asks whether any remain,
-- and while they do, each password check also pays for one bcrypt so that none can be told apart by time. The
-- index holds only those rows, so the question costs one probe of an index that empties as they are upgraded.
create index users_imported_hashes_idx on users (id) where password_hash like '$2%';
