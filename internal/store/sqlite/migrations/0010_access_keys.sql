CREATE TABLE access_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    user_id      TEXT REFERENCES users(id) ON DELETE CASCADE,
    expires_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    imported     INTEGER NOT NULL
) STRICT;
CREATE INDEX access_keys_user ON access_keys(user_id, id);
