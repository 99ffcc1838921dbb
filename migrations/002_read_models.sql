-- Read models (issue 3). Every table here is derived from the event log and can be rebuilt
-- from it (`patent-ledger rebuild`); none is ever the source of truth.

-- Where each projection stands. A projection's rows and its position commit in one
-- transaction (exactly once). `generation` changes when a rebuild swaps in fresh tables, so a
-- running projector knows its in-memory state belongs to tables that are gone.
CREATE TABLE projection_positions (
    name        text PRIMARY KEY,
    position    bigint NOT NULL DEFAULT 0,
    generation  integer NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO projection_positions (name) VALUES ('register'), ('audit');

-- Projection "register": the register as it stands after every recorded event.
CREATE TABLE rm_parties (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    kind         text NOT NULL,
    size         text,
    state_owned  boolean,
    region       text,
    founded_on   date,
    related_to   text[] NOT NULL,
    position     bigint NOT NULL
);

CREATE TABLE rm_patents (
    number             text PRIMARY KEY,
    kind               text NOT NULL,
    title              text NOT NULL,
    status             text NOT NULL,   -- as recorded; `expired` is also computed from expires_on
    preserved          boolean NOT NULL,
    dispute_suspended  boolean NOT NULL,
    filed_on           date NOT NULL,
    granted_on         date NOT NULL,
    expires_on         date NOT NULL    -- its events: the audit index (rm_event_patents)
);

CREATE TABLE rm_owners (
    number     text NOT NULL,
    party      text NOT NULL,
    share      numeric NOT NULL,
    positions  bigint[] NOT NULL,        -- the event that made this the owner set
    PRIMARY KEY (number, party)
);
CREATE INDEX rm_owners_by_party ON rm_owners (party, number);

CREATE TABLE rm_licences (
    number          text NOT NULL,
    deal_id         text NOT NULL,
    licensors       text[] NOT NULL,
    licensee        text NOT NULL,
    licence_kind    text NOT NULL,
    territory       text NOT NULL,
    field           text NOT NULL,
    starts_on       date NOT NULL,
    ends_on         date NOT NULL,
    fee             jsonb NOT NULL,      -- {mode, amount?, rate?}
    sublicensable   boolean NOT NULL,
    parent_licence  text,
    open_licence    boolean NOT NULL,    -- a take-up of an open licence
    terminated_on   date,
    positions       bigint[] NOT NULL,
    PRIMARY KEY (number, deal_id)
);
CREATE INDEX rm_licences_by_licensee ON rm_licences (licensee);
CREATE INDEX rm_licences_by_deal ON rm_licences (deal_id);

CREATE TABLE rm_open_licences (
    number        text PRIMARY KEY,
    deal_id       text NOT NULL,
    fee           jsonb NOT NULL,
    starts_on     date NOT NULL,
    ends_on       date NOT NULL,
    withdrawn_on  date,
    positions     bigint[] NOT NULL
);

CREATE TABLE rm_pledges (
    number           text NOT NULL,
    deal_id          text NOT NULL,
    pledgors         text[] NOT NULL,
    pledgee          text NOT NULL,
    secured_amount   numeric NOT NULL,
    currency         text NOT NULL,
    due_on           date NOT NULL,
    registered_on    date NOT NULL,
    status           text NOT NULL,      -- active, defaulted, released, disposed, collateral_lost
    defaulted_on     date,
    outstanding      numeric,
    ended_on         date,
    position         bigint NOT NULL,    -- of the registration: the keyset order of pages
    positions        bigint[] NOT NULL,
    PRIMARY KEY (number, deal_id)
);
CREATE INDEX rm_pledges_by_status ON rm_pledges (status, position, number);
CREATE INDEX rm_pledges_by_pledgee ON rm_pledges (pledgee, position, number);
CREATE INDEX rm_pledges_by_order ON rm_pledges (position, number);

-- Projection "audit": every event by kind, deal, effective date, recorded time, patent, party.
CREATE TABLE rm_events (
    position      bigint PRIMARY KEY,
    kind          text NOT NULL,
    deal_id       text,
    effective_on  date NOT NULL,
    recorded_at   timestamptz NOT NULL  -- patents and parties: the two tables below
);
CREATE INDEX rm_events_by_kind ON rm_events (kind, position);
CREATE INDEX rm_events_by_deal ON rm_events (deal_id) WHERE deal_id IS NOT NULL;
CREATE INDEX rm_events_by_effective ON rm_events (effective_on, position);
CREATE INDEX rm_events_by_recorded ON rm_events (recorded_at, position);

CREATE TABLE rm_event_patents (
    number    text NOT NULL,
    position  bigint NOT NULL,
    PRIMARY KEY (number, position)
);

CREATE TABLE rm_event_parties (
    party     text NOT NULL,
    position  bigint NOT NULL,
    PRIMARY KEY (party, position)
);
