-- Token-signing keys. private_key is AES-256-GCM(key-encryption key, PKCS#8 DER) with the
-- nonce in front; the key-encryption key is never in the database.
CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    active_at   INTEGER NOT NULL,
    retire_at   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX revocations_token_id ON revocations(token_id) WHERE token_id != '';
