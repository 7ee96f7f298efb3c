CREATE TABLE legacy_issuers (
    id                   TEXT PRIMARY KEY,
    issuer               TEXT NOT NULL UNIQUE,
    jwks_uri             TEXT NOT NULL,
    audiences            TEXT NOT NULL, -- JSON array
    token_types          TEXT NOT NULL, -- JSON array
    algorithms           TEXT NOT NULL, -- JSON array
    match                TEXT NOT NULL, -- JSON array, in order
    create_users         INTEGER NOT NULL,
    claim_email          TEXT NOT NULL,
    claim_email_verified TEXT NOT NULL,
    claim_name           TEXT NOT NULL,
    accept_until         INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
) STRICT;

-- One exchange per legacy token: a mark per token (by issuer and jti, else its hash) until
-- the token expires.
CREATE TABLE legacy_token_marks (
    key        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX legacy_token_marks_expires_at ON legacy_token_marks(expires_at);

-- Identities of other providers linked to users (the bulk import links them too).
CREATE TABLE IF NOT EXISTS user_identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
) STRICT;
CREATE INDEX IF NOT EXISTS user_identities_user ON user_identities(user_id);
