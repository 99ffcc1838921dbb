-- Projection "anomalies" (issue 4): flags raised by AR-1..AR-12 with their evidence, and the
-- regulators' findings on them. Flags are derived and may be re-derived (a late event can raise
-- or drop one); findings are facts from the log, kept by the flag's stable id.
INSERT INTO projection_positions (name) VALUES ('anomalies');

CREATE TABLE rm_anomalies (
    id            text PRIMARY KEY,    -- rule + a digest of scope and evidence: stable
    rule          text NOT NULL,
    rule_version  integer NOT NULL,
    score         numeric NOT NULL,
    explanation   text NOT NULL,
    scope         text NOT NULL,       -- patent:N, party:P or subsidies: what is re-judged
    detected_on   date NOT NULL,       -- effective date of the event that completed it
    position      bigint NOT NULL,     -- the latest evidence: the order of pages
    parties       text[] NOT NULL,
    patents       text[] NOT NULL,
    evidence      bigint[] NOT NULL
);
CREATE INDEX rm_anomalies_by_scope ON rm_anomalies (scope);
CREATE INDEX rm_anomalies_by_order ON rm_anomalies (position, id);
CREATE INDEX rm_anomalies_by_rule ON rm_anomalies (rule, position, id);
CREATE INDEX rm_anomalies_by_party ON rm_anomalies USING gin (parties);
CREATE INDEX rm_anomalies_by_patent ON rm_anomalies USING gin (patents);

CREATE TABLE rm_findings (
    anomaly_id   text PRIMARY KEY,
    decision     text NOT NULL,        -- confirmed or dismissed
    note         text NOT NULL,
    position     bigint NOT NULL,
    recorded_at  timestamptz NOT NULL
);
