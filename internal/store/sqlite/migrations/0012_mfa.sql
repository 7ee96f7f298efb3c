-- Second factors (internal/mfa). Seeds are sealed under the key-encryption key; recovery
-- codes are HMACs under a key derived from it; neither is usable from the database alone.
CREATE TABLE mfa_totp (
    user_id      TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    id           TEXT NOT NULL UNIQUE,
    seed         BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER -- NULL while the enrolment is pending
) STRICT;

CREATE TABLE mfa_recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    mac     BLOB NOT NULL,
    PRIMARY KEY (user_id, mac)
) STRICT, WITHOUT ROWID;

CREATE TABLE mfa_challenges (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    delivery     TEXT NOT NULL,
    data         BLOB NOT NULL,
    secret_hash  BLOB NOT NULL,
    binding_hash BLOB NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX mfa_challenges_expires_at ON mfa_challenges(expires_at);

-- A session limited to enrolling a second factor (the "required" MFA policy) says so.
ALTER TABLE sessions ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
