-- Every ended session (and, later, every revoked access-token id) leaves an entry here until
-- the last credential it can affect has expired. Caches and resource servers follow it by id.
CREATE TABLE revocations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL DEFAULT '',
    token_id   TEXT NOT NULL DEFAULT '',
    user_id    TEXT NOT NULL DEFAULT '',
    until      INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX revocations_until ON revocations(until);
