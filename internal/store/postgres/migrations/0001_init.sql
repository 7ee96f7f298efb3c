CREATE TABLE users (
    id             TEXT COLLATE "C" PRIMARY KEY,
    email          TEXT COLLATE "C" NOT NULL UNIQUE,
    email_verified BOOLEAN NOT NULL DEFAULT false,
    password_hash  TEXT NOT NULL DEFAULT '',
    disabled       BOOLEAN NOT NULL DEFAULT false,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_hash        BYTEA NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    last_seen_at       TIMESTAMPTZ NOT NULL,
    expires_at         TIMESTAMPTZ NOT NULL,
    auth_time          TIMESTAMPTZ NOT NULL,
    amr                TEXT[] NOT NULL DEFAULT '{}',
    ip                 TEXT NOT NULL DEFAULT '',
    user_agent         TEXT NOT NULL DEFAULT '',
    client_id          TEXT NOT NULL DEFAULT '',
    refresh_gen        BIGINT NOT NULL DEFAULT 0,
    refresh_rotated_at TIMESTAMPTZ,
    refresh_salt       BYTEA NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id ON sessions(user_id);
CREATE INDEX sessions_expires_at ON sessions(expires_at);

CREATE TABLE events (
    id         BIGSERIAL PRIMARY KEY,
    type       TEXT NOT NULL,
    time       TIMESTAMPTZ NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_type ON events(type, id);
CREATE INDEX events_user_id ON events(user_id, id);

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE revocations (
    id         BIGSERIAL PRIMARY KEY,
    session_id TEXT NOT NULL DEFAULT '',
    token_id   TEXT NOT NULL DEFAULT '',
    user_id    TEXT NOT NULL DEFAULT '',
    until      TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX revocations_until ON revocations(until);
CREATE INDEX revocations_token_id ON revocations(token_id) WHERE token_id <> '';

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    active_at   TIMESTAMPTZ NOT NULL,
    retire_at   TIMESTAMPTZ
);
