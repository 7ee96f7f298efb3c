CREATE TABLE access_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    key_hash     BYTEA NOT NULL UNIQUE,
    scopes       TEXT[] NOT NULL,
    user_id      TEXT REFERENCES users(id) ON DELETE CASCADE,
    expires_at   TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    created_by   TEXT NOT NULL,
    imported     BOOLEAN NOT NULL
);
CREATE INDEX access_keys_user ON access_keys(user_id, id);
