-- Issue 19 (domain.md s11; docs/law.md "Pledge finance").
-- K8 recovery by source and the shortfall left: a disposal's shortfall after the proceeds and
-- the risk-sharing payments (compensation) that covered its claim, summed in the rollup too.
ALTER TABLE rm_deal_facts ADD COLUMN shortfall numeric;
ALTER TABLE rm_indicator_totals ADD COLUMN shortfall numeric;

-- Who arranged each deal (domain.md s11.4): GraphQL party { arranged } and
-- events(filter: {agency}) read it; written by the "audit" projection with rm_event_parties.
CREATE TABLE rm_event_intermediaries (
    party     text NOT NULL,
    role      text NOT NULL,            -- agency, platform, technology_manager
    position  bigint NOT NULL,
    PRIMARY KEY (party, role, position)
);
CREATE INDEX rm_event_intermediaries_by_position ON rm_event_intermediaries (position);

-- Facts already projected lack the shortfall, pledges their borrower's kind and size (K6)
-- and deals their intermediaries: both projections read the log again from the first event,
-- in a new generation (a running projector drops its caches).
TRUNCATE rm_events, rm_event_patents, rm_event_parties, rm_deal_facts, rm_audit_party_traits,
         rm_audit_open_offers, rm_indicator_totals, rm_indicator_members,
         rm_indicator_party_traits, rm_indicator_open_offers;
UPDATE projection_positions SET position = 0, generation = generation + 1, error = NULL,
       failed_position = NULL
 WHERE name IN ('audit', 'indicators');
