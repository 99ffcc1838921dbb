-- One Merkle tree over the whole log (issue 5, ledger/merkle.py): a checkpoint now signs the
-- root of all links up to its position (statement v2), so any event can be proven against the
-- latest checkpoint alone. Checkpoints of the first format (a root per range) are kept under
-- their old name for the record; `verify` checks the new ones.
ALTER TABLE ledger_checkpoints RENAME TO ledger_checkpoints_v1;

CREATE TABLE ledger_checkpoints (
    position   bigint PRIMARY KEY,      -- the last event covered
    previous   bigint NOT NULL,         -- the checkpoint before (0 for the first)
    tree_size  bigint NOT NULL,         -- links up to position: the leaves under the root
    head       bytea NOT NULL,          -- the chain's link at position
    root       bytea NOT NULL,          -- Merkle root of every link up to position
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

-- Complete subtrees of 256 leaves and above, stored as checkpoints are made, so a root or a
-- proof reads a few rows instead of the whole chain. Derived from ledger_chain (a changed row
-- gives proofs that do not verify), never changed.
CREATE TABLE ledger_merkle (
    level          smallint NOT NULL,   -- the subtree holds 2^level leaves
    idx            bigint NOT NULL,     -- its leaves are [idx * 2^level, (idx + 1) * 2^level)
    hash           bytea NOT NULL,
    last_position  bigint NOT NULL,     -- the log position of its last leaf
    PRIMARY KEY (level, idx)
);
CREATE INDEX ledger_merkle_by_position ON ledger_merkle (level, last_position);

CREATE TRIGGER ledger_merkle_append_only
    BEFORE UPDATE OR DELETE ON ledger_merkle
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_merkle_no_truncate
    BEFORE TRUNCATE ON ledger_merkle
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
