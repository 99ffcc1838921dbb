-- The writer's state lives here, not in process memory (issue 16, ledger/register.py). Each
-- table is an index into the event log, kept by whichever writer holds the event table's lock,
-- in the same transaction as the events it appends: a writer process that starts reads nothing
-- of the log, and loads only the postings and patents a group of deals touches.

-- Every idempotency key ("deal:ID", "party:ID", "patent:N", "subsidy:ID", "listing:ID",
-- "delisting:ID", "finding:ID") and the event that answered it. Parties, deals and listings
-- are read through their keys: the event at `position` is the party, the deal, the listing.
CREATE TABLE IF NOT EXISTS ledger_postings (
    key      text   PRIMARY KEY,
    position bigint NOT NULL
);

-- Each patent's timeline: its registration and every event that touches it, by position.
-- The writer folds a patent's events in effective-date order when the patent is not cached.
CREATE TABLE IF NOT EXISTS ledger_patent_events (
    number   text   NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (number, position)
);

-- The last position both tables above hold. A log written before this migration (or a row
-- inserted by hand) is indexed from here on the next writer's start or group, under the lock.
CREATE TABLE IF NOT EXISTS ledger_state_position (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position  bigint  NOT NULL
);
INSERT INTO ledger_state_position (position) VALUES (0) ON CONFLICT DO NOTHING;
