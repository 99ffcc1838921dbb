-- Indicators K1..K10 pre-aggregated (issue 4: three years by quarter in 100 ms on a log of
-- 1,000,000 events). Kept by the "indicators" projection, for every deal at three
-- granularities. `rm_indicator_members` holds each (period, indicator, dimension)'s
-- distinct patents and pledging enterprises with how many deals brought them, so distinct
-- counts stay exact when a period grows and when flagged deals are left out at query time.
INSERT INTO projection_positions (name) VALUES ('indicators');

CREATE TABLE rm_indicator_totals (
    granularity  text NOT NULL,           -- year, quarter or month
    period       date NOT NULL,           -- first day of the period
    indicator    text NOT NULL,
    dimension    text NOT NULL,
    deals        bigint NOT NULL,
    amount       numeric,                 -- CNY only, as the query sums it
    priced       bigint NOT NULL,         -- deals with a CNY amount (none: amount is null)
    recovered    numeric,
    owed         numeric,
    patents      bigint NOT NULL,         -- distinct
    givers       bigint NOT NULL,         -- distinct first givers (K6 registered: enterprises)
    PRIMARY KEY (granularity, period, indicator, dimension)
);

CREATE TABLE rm_indicator_members (
    granularity  text NOT NULL,
    period       date NOT NULL,
    indicator    text NOT NULL,
    dimension    text NOT NULL,
    role         text NOT NULL,           -- patent or giver
    member       text NOT NULL,
    deals        bigint NOT NULL,
    PRIMARY KEY (granularity, period, indicator, dimension, role, member)
);

-- The kinds of the first receiver and giver, as registered, kept with each fact: the rollup
-- is written from them, so it never depends on how far the register projection has got.
ALTER TABLE rm_deal_facts ADD COLUMN r_kind text, ADD COLUMN r_size text, ADD COLUMN g_kind text;

-- The audit projection must read the log again to fill them: empty its tables and move it
-- to a new generation, so a running projector starts it over from position 0.
TRUNCATE rm_events, rm_event_patents, rm_event_parties, rm_deal_facts;
UPDATE projection_positions SET position = 0, generation = generation + 1 WHERE name = 'audit';
