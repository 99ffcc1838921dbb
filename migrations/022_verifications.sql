-- Issue 20: the console's ledger health page says whether `patent-ledger verify` last passed.
-- Each run of `verify` adds its verdict; only the latest 100 are kept (ledger/integrity/
-- verifications.py), so the table stays small however often an operator verifies.
CREATE TABLE IF NOT EXISTS ledger_verifications (
    id          bigserial PRIMARY KEY,
    verified_at timestamptz NOT NULL DEFAULT now(),
    holds       boolean NOT NULL,
    events      bigint NOT NULL,
    linked      bigint NOT NULL,
    problem     text
);
