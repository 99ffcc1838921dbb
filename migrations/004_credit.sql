-- Credit and blacklist (issue 4), kept by the "anomalies" projection beside the flags they
-- depend on: regulators' listings, and the marks the log itself puts on a party.
CREATE TABLE rm_listings (
    listing_id    text PRIMARY KEY,
    party         text NOT NULL,
    list          text NOT NULL,        -- dishonest or serious_dishonesty
    grounds       text NOT NULL,
    starts_on     date NOT NULL,
    ends_on       date,                 -- as decided; ended_on when lifted early
    ended_on      date,
    position      bigint NOT NULL,
    end_position  bigint
);
CREATE INDEX rm_listings_by_party ON rm_listings (party);

CREATE TABLE rm_credit_marks (
    mark_id       text PRIMARY KEY,     -- rule + deal: one mark per cause
    party         text NOT NULL,
    rule          text NOT NULL,        -- INV-13 late filing (B), INV-11 unresolved default (C)
    grade         text NOT NULL,
    detail        text NOT NULL,
    starts_on     date NOT NULL,
    ends_on       date,                 -- open while unresolved
    evidence      bigint[] NOT NULL
);
CREATE INDEX rm_credit_marks_by_party ON rm_credit_marks (party);
