-- The distinct members of the indicator rollup, one row per year instead of one per year,
-- quarter and month (issue 4: catch-up of all projections >= 3,000 events/s). Each row holds
-- how many deals brought the member into each month of its year; quarter and year counts are
-- sums of those slots, so distinct counts and flagged-deal exclusions stay exact with about a
-- fifth of the rows (on the benchmark market: 94,000 against 467,000 at 150,000 events).
DROP TABLE rm_indicator_members;
CREATE TABLE rm_indicator_members (
    year         date NOT NULL,           -- first day of the year
    indicator    text NOT NULL,
    dimension    text NOT NULL,
    role         text NOT NULL,           -- patent or giver
    member       text NOT NULL,
    deals        integer[] NOT NULL,      -- 12 slots: deals that brought it, by month
    months       integer NOT NULL,        -- bit m-1 set: it has deals in month m
    PRIMARY KEY (year, indicator, dimension, role, member)
) WITH (fillfactor = 90);                 -- room for the slot updates to stay on their page

-- The rollup is written again from the log: empty it and move the projection to a new
-- generation, so a running projector starts it over from position 0.
TRUNCATE rm_indicator_totals;
UPDATE projection_positions SET position = 0, generation = generation + 1
WHERE name = 'indicators';
