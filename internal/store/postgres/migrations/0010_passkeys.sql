-- WebAuthn credentials (internal/passkeys). credential_id is the authenticator's id, unique
-- across users (a discoverable sign-in looks the passkey up by it); public_key is the COSE
-- key. sign_count (a uint32) only moves forward (clone detection).
CREATE TABLE passkeys (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id      BYTEA NOT NULL UNIQUE,
    public_key         BYTEA NOT NULL,
    attestation_format TEXT NOT NULL,
    sign_count         BIGINT NOT NULL,
    backup_eligible    BOOLEAN NOT NULL,
    backup_state       BOOLEAN NOT NULL,
    user_verified      BOOLEAN NOT NULL,
    transports         TEXT[] NOT NULL,
    aaguid             BYTEA NOT NULL,
    attachment         TEXT NOT NULL,
    name               TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    last_used_at       TIMESTAMPTZ
);
CREATE INDEX passkeys_user ON passkeys(user_id, created_at);
