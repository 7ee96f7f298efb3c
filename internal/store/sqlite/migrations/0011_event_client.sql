-- Access keys (0010) are machine clients. An audit event names the key it is about by id
-- (never the key), and a revocation entry can name a key: every access token minted from it
-- (client_id) issued before issued_before (0: whenever) is revoked. See docs/consistency.md.
ALTER TABLE events ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE revocations ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE revocations ADD COLUMN issued_before INTEGER NOT NULL DEFAULT 0;
CREATE INDEX revocations_client_id ON revocations(client_id) WHERE client_id <> '';
