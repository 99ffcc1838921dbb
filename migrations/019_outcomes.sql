-- Issue 18 (outcomes; domain.md s10.1-10.2, docs/conversion.md).

-- Projection "products": patent products (专利产品备案) and their yearly reports. The owner's
-- kind and region are joined from rm_parties when asked.
INSERT INTO projection_positions (name) VALUES ('products');

CREATE TABLE rm_products (
    product_id   text PRIMARY KEY,
    name         text NOT NULL,
    owner        text NOT NULL,
    patents      text[] NOT NULL,
    filed_on     date NOT NULL,
    category     text,
    intensive    boolean NOT NULL,         -- patent-intensive (专利密集型产品)
    position     bigint NOT NULL,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX rm_products_by_owner ON rm_products (owner, product_id);
CREATE INDEX rm_products_by_filed ON rm_products (filed_on);

CREATE TABLE rm_product_patents (
    number      text NOT NULL,
    product_id  text NOT NULL,
    PRIMARY KEY (number, product_id)
);

CREATE TABLE rm_product_reports (
    product_id    text NOT NULL,
    year          integer NOT NULL,
    output_value  numeric NOT NULL,
    currency      text NOT NULL,
    employees     integer NOT NULL,
    position      bigint NOT NULL,
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (product_id, year)
);
CREATE INDEX rm_product_reports_by_year ON rm_product_reports (year);

-- K11 (conversions by category and holder kind) is counted from the deal facts the rollup
-- already holds: the rollup is written again from the log. Empty it and move the projection
-- to a new generation, so a running projector starts it over from position 0.
TRUNCATE rm_indicator_totals, rm_indicator_members;
UPDATE projection_positions SET position = 0, generation = generation + 1
WHERE name = 'indicators';
