-- Issue 18 items 3 and 4 (domain.md s10.3-10.4, docs/pools.md): patent pools, IPC classes,
-- dated party qualifications and size changes.

-- Projection "pools": pools, their members and licences, patents' IPC classifications,
-- parties' qualifications and size changes, each with the log position it came from.
INSERT INTO projection_positions (name) VALUES ('pools');

CREATE TABLE rm_pools (
    pool_id        text PRIMARY KEY,
    name           text NOT NULL,
    administrator  text NOT NULL,
    field          text NOT NULL,          -- '*': every field
    formed_on      date NOT NULL,
    position       bigint NOT NULL
);

-- One row per entry of a patent into a pool; an exit closes it.
CREATE TABLE rm_pool_members (
    pool_id        text NOT NULL,
    number         text NOT NULL,
    entry_deal     text NOT NULL,
    owners         text[] NOT NULL,
    starts_on      date NOT NULL,
    ends_on        date,                   -- the entry's own end, if it named one
    exited_on      date,                   -- the exit's effective date
    exit_deal      text,
    position       bigint NOT NULL,        -- the entry's
    exit_position  bigint,
    PRIMARY KEY (pool_id, number, entry_deal)
);
CREATE INDEX rm_pool_members_by_patent ON rm_pool_members (number, starts_on);

-- Pool licences: granted by a pool's administrator over pooled patents (K2 kind "pool").
CREATE TABLE rm_pool_licences (
    deal_id        text NOT NULL,
    number         text NOT NULL,
    pool_id        text NOT NULL,
    licensee       text NOT NULL,
    licence_kind   text NOT NULL,
    starts_on      date NOT NULL,
    ends_on        date NOT NULL,
    terminated_on  date,
    position       bigint NOT NULL,
    PRIMARY KEY (deal_id, number)
);
CREATE INDEX rm_pool_licences_by_pool ON rm_pool_licences (pool_id, position);

-- Every classification of a patent (the latest by effective date, then position, holds).
CREATE TABLE rm_patent_ipc (
    number         text NOT NULL,
    position       bigint NOT NULL,
    effective_on   date NOT NULL,
    ipc            text[] NOT NULL,
    sections       text[] NOT NULL,        -- the symbols' sections, A-H
    PRIMARY KEY (number, position)
);

CREATE TABLE rm_party_qualifications (
    party          text NOT NULL,
    qualification  text NOT NULL,
    valid_from     date NOT NULL,
    valid_to       date,
    certificate    text,
    position       bigint NOT NULL,
    PRIMARY KEY (party, qualification, valid_from)
);

CREATE TABLE rm_party_sizes (
    party          text NOT NULL,
    effective_on   date NOT NULL,
    size           text NOT NULL,
    position       bigint NOT NULL,
    PRIMARY KEY (party, effective_on)
);

-- Indicators read a party's size and qualifications on the deal's date: the traits tables
-- of "audit" and "indicators" keep the dated changes beside the registered size, and each
-- deal fact its first receiver's qualifications on its date. No log before this migration
-- holds a change, so the empty defaults are every existing row's true value.
ALTER TABLE rm_audit_party_traits ADD COLUMN sizes text[] NOT NULL DEFAULT '{}',
                                  ADD COLUMN qualifications text[] NOT NULL DEFAULT '{}';
ALTER TABLE rm_indicator_party_traits ADD COLUMN sizes text[] NOT NULL DEFAULT '{}',
                                      ADD COLUMN qualifications text[] NOT NULL DEFAULT '{}';
ALTER TABLE rm_deal_facts ADD COLUMN r_qualifications text[] NOT NULL DEFAULT '{}';
