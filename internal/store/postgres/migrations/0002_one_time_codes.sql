CREATE TABLE one_time_codes (
    key        TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX one_time_codes_expires_at ON one_time_codes(expires_at);
