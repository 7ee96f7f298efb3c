-- credential_epoch counts password changes, disabling and deletion: a sign-in keeps its new
-- session only if the epoch it checked the password against is still current (accounts).
ALTER TABLE users ADD COLUMN credential_epoch INTEGER NOT NULL DEFAULT 0;
