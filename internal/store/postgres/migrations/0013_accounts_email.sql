-- Accounts: profile fields, the tokens of the email flows, and the outbox (docs/email.md,
-- docs/outbox.md).
ALTER TABLE users ADD COLUMN IF NOT EXISTS name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN picture TEXT NOT NULL DEFAULT '';
-- metadata is a JSON object set by administrators only ('' when none).
ALTER TABLE users ADD COLUMN metadata TEXT NOT NULL DEFAULT '';

-- Single-use tokens of the email flows: verification, password reset, email change and its
-- undo, email sign-in. Only SHA-256 of the link secret and an HMAC of the 6-digit code are
-- kept; attempts bounds the guesses at the code.
CREATE TABLE account_tokens (
    id          TEXT COLLATE "C" PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    email       TEXT NOT NULL DEFAULT '',
    secret_hash BYTEA NOT NULL,
    code_hash   BYTEA,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX account_tokens_user_purpose ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires_at ON account_tokens (expires_at);

CREATE TABLE outbox (
    id              TEXT COLLATE "C" PRIMARY KEY,
    queue           TEXT NOT NULL,
    payload         BYTEA,
    created_at      TIMESTAMPTZ NOT NULL,
    not_after       TIMESTAMPTZ,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    claim           TEXT NOT NULL DEFAULT '',
    lease_until     TIMESTAMPTZ,
    done_at         TIMESTAMPTZ,
    dead            BOOLEAN NOT NULL DEFAULT false,
    last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (queue, next_attempt_at) WHERE done_at IS NULL;
