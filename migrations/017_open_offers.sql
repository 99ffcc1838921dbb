-- Issue 17 (domain.md s9): an open-licence take-up is a licence, counted in K2 (kind "open"),
-- K4 and K5 as well as K9. The take-up event names only its licensee; its licensors (the
-- patent's owners) and its fee (the declaration's) come from the open licence offered on the
-- patent, which the "audit" and "indicators" projections now keep, each its own copy (so either
-- can be rebuilt alone), with the owners following the patent as it changes hands.
CREATE TABLE rm_audit_open_offers (
    number    text PRIMARY KEY,
    owners    text[] NOT NULL,          -- the licensors a take-up has
    fee_mode  text NOT NULL,            -- lump_sum, royalty or free (K2 dimension open/<mode>)
    amount    numeric,                  -- the declared fee, per take-up
    currency  text
);
CREATE TABLE rm_indicator_open_offers (LIKE rm_audit_open_offers INCLUDING ALL);

-- The take-ups already projected lack their licensors and fee: both projections read the log
-- again from the first event, in a new generation (a running projector drops its caches).
TRUNCATE rm_events, rm_event_patents, rm_event_parties, rm_deal_facts, rm_audit_party_traits,
         rm_indicator_totals, rm_indicator_members, rm_indicator_party_traits;
UPDATE projection_positions SET position = 0, generation = generation + 1, error = NULL,
       failed_position = NULL
 WHERE name IN ('audit', 'indicators');
