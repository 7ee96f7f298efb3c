-- Second factors (internal/mfa). Seeds are sealed under the key-encryption key; recovery
-- codes are HMACs under a key derived from it; neither is usable from the database alone.
CREATE TABLE mfa_totp (
    user_id      TEXT COLLATE "C" PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    id           TEXT COLLATE "C" NOT NULL UNIQUE,
    seed         BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ -- NULL while the enrolment is pending
);

CREATE TABLE mfa_recovery_codes (
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mac     BYTEA NOT NULL,
    PRIMARY KEY (user_id, mac)
);

CREATE TABLE mfa_challenges (
    id           TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    delivery     TEXT NOT NULL,
    data         BYTEA NOT NULL,
    secret_hash  BYTEA NOT NULL,
    binding_hash BYTEA NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX mfa_challenges_expires_at ON mfa_challenges(expires_at);

-- A session limited to enrolling a second factor (the "required" MFA policy) says so.
ALTER TABLE sessions ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
