CREATE TABLE legacy_issuers (
    id                   TEXT PRIMARY KEY,
    issuer               TEXT NOT NULL UNIQUE,
    jwks_uri             TEXT NOT NULL,
    audiences            TEXT[] NOT NULL,
    token_types          TEXT[] NOT NULL,
    algorithms           TEXT[] NOT NULL,
    match                TEXT[] NOT NULL,
    create_users         BOOLEAN NOT NULL,
    claim_email          TEXT NOT NULL,
    claim_email_verified TEXT NOT NULL,
    claim_name           TEXT NOT NULL,
    accept_until         TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

-- One exchange per legacy token: a mark per token (by issuer and jti, else its hash) until
-- the token expires.
CREATE TABLE legacy_token_marks (
    key        TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX legacy_token_marks_expires_at ON legacy_token_marks(expires_at);

-- Identities of other providers linked to users (the bulk import links them too).
CREATE TABLE IF NOT EXISTS user_identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX IF NOT EXISTS user_identities_user ON user_identities(user_id);
