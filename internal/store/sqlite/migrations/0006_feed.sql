-- One entry per access-token id and per session: revoking the same token again (RFC 7009
-- allows any number of calls) adds nothing to the log that every follower reads.
DELETE FROM revocations WHERE token_id <> '' AND id > (SELECT min(b.id) FROM revocations b WHERE b.token_id = revocations.token_id);
DELETE FROM revocations WHERE session_id <> '' AND id > (SELECT min(b.id) FROM revocations b WHERE b.session_id = revocations.session_id);
DROP INDEX revocations_token_id;
CREATE UNIQUE INDEX revocations_token_id ON revocations(token_id) WHERE token_id <> '';
CREATE UNIQUE INDEX revocations_session_id ON revocations(session_id) WHERE session_id <> '';
