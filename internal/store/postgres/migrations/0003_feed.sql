-- Followers of the revocation log and of the audit trail page by id ("everything after the
-- last id I saw"). That is only safe if a row can never become visible after a row with a
-- higher id. A sequence alone does not give this: a transaction can take id 5, another id 6
-- and commit first; a reader then sees 6, moves its cursor past 5 and never sees it.
--
-- So every statement that inserts into either table first takes a transaction-scoped
-- advisory lock (one per table), before any default (nextval) is evaluated: a statement-level
-- BEFORE trigger fires before the statement produces its first row. The lock is held until
-- the transaction ends, and PostgreSQL releases a transaction's locks only after its commit is
-- visible to new snapshots. Hence the next writer takes its ids after every lower id is
-- visible, and any snapshot that sees an id sees every lower committed id: "highest id seen"
-- is a safe cursor. Rolled-back transactions leave gaps, which a follower simply steps over.
-- The price is that inserts into one table commit one at a time; both tables are written at
-- human rates (sign-ins, logouts, admin actions), far below one commit per millisecond.
-- A transaction that ever writes both tables must write revocations first (lock order).
-- See docs/consistency.md.
CREATE FUNCTION feed_order_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(TG_ARGV[0]::bigint);
    RETURN NULL;
END
$$;

CREATE TRIGGER revocations_commit_order BEFORE INSERT ON revocations
    FOR EACH STATEMENT EXECUTE FUNCTION feed_order_lock('1734440961');
CREATE TRIGGER events_commit_order BEFORE INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION feed_order_lock('1734440962');

-- One entry per access-token id and per session: revoking the same token again (RFC 7009
-- allows any number of calls) adds nothing to the log that every follower reads.
DELETE FROM revocations a USING revocations b
    WHERE a.token_id <> '' AND a.token_id = b.token_id AND a.id > b.id;
DELETE FROM revocations a USING revocations b
    WHERE a.session_id <> '' AND a.session_id = b.session_id AND a.id > b.id;
DROP INDEX revocations_token_id;
CREATE UNIQUE INDEX revocations_token_id ON revocations(token_id) WHERE token_id <> '';
CREATE UNIQUE INDEX revocations_session_id ON revocations(session_id) WHERE session_id <> '';
