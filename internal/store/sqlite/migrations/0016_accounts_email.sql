-- Accounts: profile fields, the tokens of the email flows, and the outbox (docs/email.md,
-- docs/outbox.md). Times are INTEGER microseconds since the Unix epoch (UTC).
ALTER TABLE users ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN picture TEXT NOT NULL DEFAULT '';
-- metadata is a JSON object set by administrators only ('' when none).
ALTER TABLE users ADD COLUMN metadata TEXT NOT NULL DEFAULT '';

-- Single-use tokens of the email flows: verification, password reset, email change and its
-- undo, email sign-in. Only SHA-256 of the link secret and an HMAC of the 6-digit code are
-- kept; attempts bounds the guesses at the code.
CREATE TABLE account_tokens (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    email       TEXT NOT NULL DEFAULT '',
    secret_hash BLOB NOT NULL,
    code_hash   BLOB,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX account_tokens_user_purpose ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires_at ON account_tokens (expires_at);

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    queue           TEXT NOT NULL,
    payload         BLOB,
    created_at      INTEGER NOT NULL,
    not_after       INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    claim           TEXT NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    done_at         INTEGER NOT NULL DEFAULT 0,
    dead            INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX outbox_due ON outbox (queue, next_attempt_at) WHERE done_at = 0;
