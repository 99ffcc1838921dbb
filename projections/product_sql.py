"""K12 (domain.md s10.2, issue 18): patent products filed, patents covered, output value and
employment, by period, owner kind and region, beside K1..K11 in `indicators`.

Read from the "products" projection in one statement per question, with the indicators'
own parameters (`projections/indicators.query_parameters`: the period, a region that nests,
`recipientKind` read as the owner's kind, as known at a moment). Dimensions:

- `filed`: products filed in the period; value and count the products, patents the distinct
  patents they name;
- `output_value`: the yearly reports' output value (value and amount: the sum in CNY; count the
  reports; patents those of the reporting products);
- `employees`: the reports' employees (value: their sum);

each also per owner kind (`filed:enterprise`, ...). A yearly report falls on its year's last
day, so by quarter or month it counts in the last one. Growth (K7's yoy_growth) is computed on
`value` like every row (`projections/indicators.with_growth`). Products carry no flags: the
`excludeFlagged` argument does not change K12.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from projections import regions
from projections.indicators import IndicatorRow

_K12 = f"""
WITH prod AS (
    SELECT p.product_id, p.filed_on, p.patents, coalesce(o.kind, 'unknown') AS owner_kind
    FROM rm_products p LEFT JOIN rm_parties o ON o.id = p.owner
    WHERE p.recorded_at <= %(known_at)s
      AND (%(region)s::text IS NULL OR {regions.sql_match("o.region")})
      AND (%(recipient_kind)s::text IS NULL OR o.kind = %(recipient_kind)s)
), measured AS (
    SELECT 'filed' AS measure, date_trunc(%(granularity)s, filed_on)::date AS period,
           owner_kind, patents, NULL::numeric AS amount, 0::bigint AS employees
    FROM prod WHERE filed_on BETWEEN %(low)s AND %(high)s
    UNION ALL
    SELECT m.measure, date_trunc(%(granularity)s, make_date(r.year, 12, 31))::date,
           p.owner_kind, p.patents,
           CASE WHEN m.measure = 'output_value' AND r.currency = 'CNY' THEN r.output_value END,
           CASE WHEN m.measure = 'employees' THEN r.employees ELSE 0 END
    FROM rm_product_reports r JOIN prod p USING (product_id)
    CROSS JOIN (VALUES ('output_value'), ('employees')) AS m(measure)
    WHERE make_date(r.year, 12, 31) BETWEEN %(low)s AND %(high)s
      AND r.recorded_at <= %(known_at)s
), split AS (
    SELECT measure AS dimension, period, patents, amount, employees FROM measured
    UNION ALL
    SELECT measure || ':' || owner_kind, period, patents, amount, employees FROM measured
), counted AS (
    SELECT dimension, period, count(*) AS n, sum(amount) AS amount,
           sum(employees) AS employees
    FROM split GROUP BY 1, 2
), covered AS (
    SELECT dimension, period, count(DISTINCT p) AS np FROM split, unnest(patents) AS p
    GROUP BY 1, 2
)
SELECT c.dimension, c.period, c.n, c.amount, c.employees, coalesce(v.np, 0) AS np
FROM counted c LEFT JOIN covered v USING (dimension, period)
ORDER BY c.dimension, c.period
"""

K12_QUERY = _K12


def k12_rows(records: list[dict[str, Any]]) -> list[IndicatorRow]:
    """The rows of K12_QUERY as indicator rows; `value` is the dimension's headline figure."""
    rows = []
    for r in records:
        measure = r["dimension"].partition(":")[0]
        amount = r["amount"]
        if measure == "output_value":
            value = Decimal(amount or 0)
        elif measure == "employees":
            value, amount = Decimal(r["employees"] or 0), None
        else:
            value = Decimal(r["n"])
        rows.append(IndicatorRow("K12", r["period"], r["dimension"], value, r["n"], r["np"],
                                 amount))
    return rows
