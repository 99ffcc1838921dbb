-- Signed checkpoints of the hash chain (issue 5, ledger/checkpoints.py): append-only.
CREATE TABLE ledger_checkpoints (
    position   bigint PRIMARY KEY,      -- the last event covered
    previous   bigint NOT NULL,         -- the checkpoint before (0 for the first)
    head       bytea NOT NULL,          -- the chain's link at position
    root       bytea NOT NULL,          -- Merkle root of the links in (previous, position]
    signed_at  timestamptz NOT NULL,
    key_id     text NOT NULL,           -- first 16 hex of SHA-256 of the raw public key
    signature  bytea NOT NULL           -- Ed25519 over the statement (ledger/checkpoints.py)
);

CREATE TRIGGER ledger_checkpoints_append_only
    BEFORE UPDATE OR DELETE ON ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_checkpoints_no_truncate
    BEFORE TRUNCATE ON ledger_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
