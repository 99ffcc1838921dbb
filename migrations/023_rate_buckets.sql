-- Issue 21: rate limits shared by every API process (`serve --workers N`, or several `serve`
-- behind a load balancer). One token bucket per API key id, refilled by the database's clock
-- (one clock for every process and machine); a process takes a few tokens at a time in one
-- atomic statement (api/rate_buckets.py states the accuracy bound). One row per key id that
-- ever called, so the table is bounded by the key ring.
CREATE TABLE IF NOT EXISTS api_rate_buckets (
    key_id      text PRIMARY KEY,              -- the 12 hex digits events record in posted_by
    tokens      double precision NOT NULL,     -- left after the last grant, as of refilled_at
    refilled_at timestamptz NOT NULL,
    granted     integer NOT NULL DEFAULT 0     -- what the last statement granted (RETURNING)
);
