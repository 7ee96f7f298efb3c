CREATE TABLE one_time_codes (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX one_time_codes_expires_at ON one_time_codes(expires_at);
