-- Issue 16: the projections keep no whole-log folds in memory. What they need to know of the
-- past lives here, written in the same transaction as the rows and the position it explains,
-- and read back for the patents and parties a batch touches (bounded caches in front).
-- Each table belongs to one projection (listed in its `tables`), so a rebuild fills a shadow
-- copy and swaps it in with the rest, and no projection depends on how far another has got.

-- "register": which events are a patent's, so a backdated event (or a patent the cache has
-- dropped) folds that patent again from the log.
CREATE TABLE rm_register_patent_events (
    number    text NOT NULL,
    position  bigint NOT NULL,
    PRIMARY KEY (number, position)
);

-- "anomalies": the chronologies the rules AR-1..AR-12 read (projections/anomaly_facts.py),
-- row for row as the facts were taken in.
CREATE TABLE rm_anomaly_parties (
    id          text PRIMARY KEY,
    kind        text NOT NULL,
    size        text,
    founded_on  date,
    related_to  text[] NOT NULL
);
CREATE TABLE rm_anomaly_patents (
    number         text PRIMARY KEY,
    kind           text NOT NULL,
    expires_on     date NOT NULL,
    registered_at  bigint NOT NULL,
    first_owners   text[] NOT NULL
);
CREATE TABLE rm_anomaly_changes (       -- ownership changes of a patent
    number         text NOT NULL,
    day            date NOT NULL,
    position       bigint NOT NULL,
    deal_id        text NOT NULL,
    kind           text NOT NULL,
    sellers        text[] NOT NULL,
    buyers         text[] NOT NULL,
    price          text,                -- Decimal as written (exact), with its currency
    currency       text,
    consideration  text,
    PRIMARY KEY (number, position)
);
CREATE TABLE rm_anomaly_dated (         -- any other dated fact of a patent
    number    text NOT NULL,
    day       date NOT NULL,
    position  bigint NOT NULL,
    ord       smallint NOT NULL,        -- facts of one event, in the order they were taken
    kind      text NOT NULL,
    deal_id   text,
    parties   text[] NOT NULL,
    amount    text,
    currency  text,
    PRIMARY KEY (number, position, ord)
);
CREATE TABLE rm_anomaly_movements (     -- patents arriving at (sold = false) or leaving a party
    party           text NOT NULL,
    sold            boolean NOT NULL,
    day             date NOT NULL,
    position        bigint NOT NULL,
    ord             smallint NOT NULL,  -- the patent's place in its deal (the order taken)
    number          text NOT NULL,
    deal_id         text NOT NULL,
    counterparties  text[] NOT NULL,
    PRIMARY KEY (party, sold, position, ord)
);
CREATE TABLE rm_anomaly_deals (         -- where each deal is in the log (its event is read there)
    deal_id   text PRIMARY KEY,
    position  bigint NOT NULL
);
CREATE TABLE rm_anomaly_subsidies (
    subsidy_id  text PRIMARY KEY,
    party       text NOT NULL,
    position    bigint NOT NULL
);
CREATE INDEX rm_anomaly_subsidies_by_party ON rm_anomaly_subsidies (party, position);

-- "audit" and "indicators": each party's kind and size, for the deal facts (each projection
-- its own copy, so either can be rebuilt alone).
CREATE TABLE rm_audit_party_traits (
    id    text PRIMARY KEY,
    kind  text NOT NULL,
    size  text
);
CREATE TABLE rm_indicator_party_traits (
    id    text PRIMARY KEY,
    kind  text NOT NULL,
    size  text
);

-- A log projected before these tables existed has none of their rows: its projections start
-- again from the first event, once (the register's API answers catch up as they go).
TRUNCATE rm_parties, rm_patents, rm_owners, rm_open_licences, rm_licences, rm_pledges,
         rm_events, rm_event_patents, rm_event_parties, rm_deal_facts,
         rm_anomalies, rm_findings, rm_listings, rm_credit_marks,
         rm_indicator_totals, rm_indicator_members;
UPDATE projection_positions SET position = 0, error = NULL,
       failed_position = NULL
 WHERE name IN ('register', 'audit', 'anomalies', 'indicators');
