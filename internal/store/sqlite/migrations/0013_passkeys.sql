-- WebAuthn credentials (internal/passkeys). credential_id is the authenticator's id, unique
-- across users (a discoverable sign-in looks the passkey up by it); public_key is the COSE
-- key; transports is space-separated. sign_count only moves forward (clone detection).
CREATE TABLE passkeys (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id      BLOB NOT NULL UNIQUE,
    public_key         BLOB NOT NULL,
    attestation_format TEXT NOT NULL,
    sign_count         INTEGER NOT NULL,
    backup_eligible    INTEGER NOT NULL,
    backup_state       INTEGER NOT NULL,
    user_verified      INTEGER NOT NULL,
    transports         TEXT NOT NULL,
    aaguid             BLOB NOT NULL,
    attachment         TEXT NOT NULL,
    name               TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    last_used_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX passkeys_user ON passkeys(user_id, created_at);
