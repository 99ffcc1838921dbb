-- Indicators K1..K10 (issue 4) read one row per deal event: who gave, who received, what it
-- was worth. Kept by the "audit" projection (no state needed); parties' kind, size and region
-- are joined from rm_parties when an indicator is asked.
CREATE TABLE rm_deal_facts (
    position      bigint PRIMARY KEY,
    kind          text NOT NULL,        -- the deal kind of the REST contract
    deal_id       text NOT NULL,
    effective_on  date NOT NULL,
    recorded_at   timestamptz NOT NULL,
    patents       text[] NOT NULL,
    givers        text[] NOT NULL,      -- transferors, licensors, pledgors, declaring owners
    receivers     text[] NOT NULL,      -- transferees, licensee, company, pledgee
    amount        numeric,              -- price, fee, valuation, secured amount, proceeds
    currency      text,
    detail        text,                 -- licence kind/fee mode, disposal mode
    recovered     numeric,              -- disposals: the claim paid from the proceeds
    owed          numeric,              -- disposals: the claim before (paid + shortfall)
    late          boolean NOT NULL,     -- INV-13 late licence filing
    corrects      text
);
CREATE INDEX rm_deal_facts_by_kind ON rm_deal_facts (kind, effective_on);
CREATE INDEX rm_anomalies_by_evidence ON rm_anomalies USING gin (evidence);
