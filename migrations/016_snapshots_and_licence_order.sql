-- A patent's state as the writer last held it, written when the writer's cache lets the
-- patent go (ledger/engine/register.py): a patent that is not cached is then loaded as this
-- one row plus the events filed after `position`, not its whole history. Snapshots are an
-- optimisation only: a row may lag (the events after it are folded on load), may be lost
-- (the events are loaded instead) and is ignored when `form` differs from the running code's
-- (its law changed how a patent's state is folded: ledger/storage/snapshots.py).
CREATE TABLE IF NOT EXISTS ledger_patent_snapshots (
    number   text    PRIMARY KEY,
    position bigint  NOT NULL,  -- every event of the patent up to here is folded in
    version  integer NOT NULL,  -- the patent stream's version then (0: not known)
    form     text    NOT NULL,  -- the state's layout and fold, as a digest of their source
    state    bytea   NOT NULL
);

-- A patent's licences in the order GraphQL pages them (`licences(first, after)`:
-- projections/licence_pages.py orders by the licence's first position, then its deal id). A
-- popular patent carries a thousand licences or more; without this index each page read and
-- sorted all of them.
CREATE INDEX IF NOT EXISTS rm_licences_in_order ON rm_licences (number, (positions[1]), deal_id);
