-- A projection that cannot apply an event stops there instead of retrying forever (issue 15,
-- projections/runner.py), and says so here, where every process reads it: the API's /healthz,
-- /metrics and GraphQL `ledger` answer "degraded" even when `patent-ledger project` runs apart.
-- `position` stays the last event it applied; both columns clear when it commits again (after
-- a restart with a fix deployed, or `patent-ledger rebuild NAME`).
ALTER TABLE projection_positions
    ADD COLUMN error           text,    -- why it stopped (the exception); NULL while it follows
    ADD COLUMN failed_position bigint;  -- the event it could not apply
