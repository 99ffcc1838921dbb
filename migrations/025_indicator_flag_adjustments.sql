-- Issue 21: flagged deals taken out of the indicators' rollup as flags change, not at each
-- query. The national decade (10,000,000 events, 55,337 open AR-7 flags) made the rollup's
-- query take each flagged deal out at query time, past the 5 s read limit. These tables hold
-- what the open flags take out, kept by the "indicator_flags" settler
-- (projections/indicator_flags.py) after each page the projections commit, so a query reads
-- totals minus adjustments: its cost no longer grows with the flags in its span.

-- Positions whose flagged state may have changed, written by the "anomalies" projection
-- beside the flags it adds or drops and the findings it records; consumed by the settler.
CREATE TABLE rm_indicator_flag_queue (
    position  bigint NOT NULL
);
CREATE INDEX rm_indicator_flag_queue_by_position ON rm_indicator_flag_queue (position);

-- The deals taken out: evidence of an anomaly no regulator dismissed, with a deal fact.
CREATE TABLE rm_indicator_flagged (
    position  bigint PRIMARY KEY
);

-- What they take out of each row of rm_indicator_totals (same key). `patents` and `givers`
-- count the members every one of whose deals in the period is taken out (they leave the
-- distinct counts). Rows of K10 'flagged_left_out' hold the flagged deals themselves, and
-- their `patents` and `givers` the distinct members of those deals.
CREATE TABLE rm_indicator_flag_totals (
    granularity  text NOT NULL,
    period       date NOT NULL,
    indicator    text NOT NULL,
    dimension    text NOT NULL,
    deals        bigint NOT NULL,
    amount       numeric NOT NULL,
    priced       bigint NOT NULL,
    recovered    numeric NOT NULL,
    owed         numeric NOT NULL,
    shortfall    numeric NOT NULL,
    patents      bigint NOT NULL,
    givers       bigint NOT NULL,
    PRIMARY KEY (granularity, period, indicator, dimension)
);

-- Each member of the rollup with flagged deals: how many by month of its year, and in which
-- periods it is gone (bit 0 the year, bits 1-4 its quarters, bits 5-16 its months).
CREATE TABLE rm_indicator_flag_members (
    year       date NOT NULL,
    indicator  text NOT NULL,
    dimension  text NOT NULL,
    role       text NOT NULL,
    member     text NOT NULL,
    flagged    integer[] NOT NULL,
    gone       integer NOT NULL,
    PRIMARY KEY (year, indicator, dimension, role, member)
);
-- Deals folded since the last settle are judged again only where they name a member gone
-- from some period (an unflagged deal can bring it back; no other can change).
CREATE INDEX rm_indicator_flag_members_gone ON rm_indicator_flag_members (member) WHERE gone <> 0;

-- The settler asks, for each changed position, whether an open flag names it: one probe of
-- this index each. With its pending list (GIN's fast update) every probe also read the list
-- of entries not yet merged: 0.8 ms a probe on the write benchmark's log, 25 us without.
ALTER INDEX rm_anomalies_by_evidence SET (fastupdate = off);
SELECT gin_clean_pending_list('rm_anomalies_by_evidence'::regclass);

-- The generations of the tables the adjustments were computed from: after a rebuild of any
-- of them the settler computes the adjustments afresh, and until then queries take flagged
-- deals out themselves, as before.
CREATE TABLE rm_indicator_flag_state (
    singleton                boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    audit_generation         integer NOT NULL,
    anomalies_generation     integer NOT NULL,
    indicators_generation    integer NOT NULL
);
INSERT INTO rm_indicator_flag_state VALUES (true, -1, -1, -1);

-- Its position: every deal up to it is adjusted for the flags as they stand.
INSERT INTO projection_positions (name) VALUES ('indicator_flags');
