-- Refresh-token rotation state (docs/architecture.md): the current generation (0 = the session has no
-- refresh token), when it last advanced, and a per-session salt mixed into the token MAC.
ALTER TABLE sessions ADD COLUMN refresh_gen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN refresh_rotated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN refresh_salt BLOB NOT NULL DEFAULT x'';
