-- Tamper evidence (issue 5): each event's SHA-256 link to the one before it in log order, over
-- a canonical encoding of the stored event (ledger/chain.py). Written by the writer in the
-- transaction that stores the events, under the event table's lock; append-only like the log.
CREATE TABLE ledger_chain (
    position  bigint PRIMARY KEY,   -- the event's notification id
    hash      bytea NOT NULL
);

DROP TRIGGER IF EXISTS ledger_chain_append_only ON ledger_chain;
CREATE TRIGGER ledger_chain_append_only
    BEFORE UPDATE OR DELETE ON ledger_chain
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

DROP TRIGGER IF EXISTS ledger_chain_no_truncate ON ledger_chain;
CREATE TRIGGER ledger_chain_no_truncate
    BEFORE TRUNCATE ON ledger_chain
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
