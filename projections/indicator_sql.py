"""The SQL behind K1..K10: which deals count towards which indicator, three ways of counting.

One list of tags (`TAGS`) says which (indicator, dimension) a deal fact counts towards; all
three statements are generated from it, so they cannot disagree on what K4 means:

- `RAW_QUERY` reads the deal facts of the range (any filter, any range, as known at any
  moment); it is exact and its cost grows with the facts in the range.
- `rollup_write` is run by the "indicators" projection for each batch of facts: it adds the
  batch to `rm_indicator_totals` (by year, quarter and month) and `rm_indicator_members` (one
  row per distinct member and year, its deals counted by month, so a quarter's or a year's
  count is a sum of month slots and one row serves all three granularities).
- `ROLLUP_QUERY` answers whole periods of the whole ledger as known now from those tables,
  taking out flagged deals (evidence of an anomaly no regulator dismissed) at query time, so a
  new or dismissed flag changes the answer at once. Distinct patents stay exact: a patent
  leaves a period's count only when every deal that brought it there is flagged.

`tests/test_indicators.py` holds the rollup to the raw query on the same ledger.
"""

from __future__ import annotations

from psycopg.sql import SQL, Composed, Identifier

from projections import regions
from projections.conversion_sql import K11_TAGS  # issue 18 (outcomes)

# Deals that give a patent to use or to own (K4, K5). An open-licence take-up is an ordinary
# licence (Patent Law art. 51; domain.md s9): it counts as a licence in K2 (kind "open"), K4
# and K5, as well as in K9.
_RECEIVED = "kind IN ('transfer', 'licence', 'open_licence_take_up', 'equity_contribution')"

# (indicator, dimension SQL, condition SQL) over a deal fact (with its parties' kinds).
TAGS = [
    ("K1", "'transfers'", "kind = 'transfer'"),
    # Issue 17 (law): K1 split by the right moved (Patent Law Art. 10); "transfers" stays the total.
    ("K1", "'application_right'", "kind = 'transfer' AND application_right"),
    ("K1", "'patent_right'", "kind = 'transfer' AND NOT application_right"),
    ("K2", "coalesce(detail, 'unknown')", "kind IN ('licence', 'open_licence_take_up')"),
    ("K3", "'contributions'", "kind = 'equity_contribution'"),
    ("K4", "r_size", f"{_RECEIVED} AND "
                     "r_kind = 'enterprise' AND r_size IN ('micro', 'small', 'medium')"),
    ("K5", "coalesce(r_kind, 'unknown')",
     f"{_RECEIVED} AND g_kind IN ('university', 'research_institute')"),
    ("K6", "'registered'", "kind = 'pledge'"),
    ("K6", "'under_10m'", "kind = 'pledge' AND amount < 10000000"),
    ("K6", "'released'", "kind = 'pledge_release'"),
    ("K6", "'defaulted'", "kind = 'default'"),
    ("K6", "'disposed'", "kind = 'disposal'"),
    ("K8", "coalesce(detail, 'unknown')", "kind = 'disposal'"),
    # Issue 19 (domain.md s11.3): recovery by source and the shortfall left. A disposal's
    # `recovered` is the claim its proceeds paid, a risk payment's its amount; `owed` is a
    # disposal's whole claim and `shortfall` what neither proceeds nor compensation covered.
    ("K8", "'source:disposal_proceeds'", "kind = 'disposal'"),
    ("K8", "'source:' || coalesce(detail, 'unknown')", "kind = 'risk_payment'"),
    # K6 by the borrower's kind and size (the debtor, else the pledgor): `debtor:<kind>/<size>`
    ("K6", "'debtor:' || coalesce(detail, 'unknown')", "kind = 'pledge'"),
    ("K9", "'declared'", "kind = 'open_licence_declaration'"),
    ("K9", "'taken'", "kind = 'open_licence_take_up'"),
    ("K9", "'withdrawn'", "kind = 'open_licence_withdrawal'"),
    ("K10", "'late_filings'", "late"),
    ("K10", "'short_open_licences'", "short_open_licence"),  # issue 17 (law): INV-5 flag
    ("K10", "'corrections'", "corrects IS NOT NULL"),
    ("K10", "'subsidy_recoveries'", "kind = 'subsidy_recovery'"),  # issue 17 (credit)
    *K11_TAGS,  # issue 18 (outcomes): conversions by category and holder kind
]


def condition_of(indicator: str, dimension: str | None = None) -> str:
    """The condition of the one tag of `indicator` (with `dimension`, the SQL of its
    dimension, where the indicator has several): what a programme's target counts."""
    [condition] = [c for i, d, c in TAGS if i == indicator and dimension in (None, d)]
    return condition


# Evidence of anomalies a regulator has not dismissed, gathered once and hash-joined: asking
# rm_anomalies once per fact timed out on a 30,000-event log.
FLAGGED = """flagged AS MATERIALIZED (
    SELECT DISTINCT unnest(a.evidence) AS position FROM rm_anomalies a
    WHERE NOT EXISTS (SELECT 1 FROM rm_findings d
                      WHERE d.anomaly_id = a.id AND d.decision = 'dismissed')
)"""

def _lateral_tags() -> str:
    """The tags as a lateral VALUES list over a row `b` of facts."""
    return ",\n        ".join(f"('{ind}', {dim}, coalesce({cond}, false))"
                              for ind, dim, cond in TAGS)


# --- the exact query over facts -------------------------------------------------------------

_RAW = """
WITH {flagged}, base AS (
    SELECT f.*, date_trunc(%(granularity)s, f.effective_on)::date AS period,
           fl.position IS NOT NULL AS flagged
    FROM rm_deal_facts f
    LEFT JOIN flagged fl ON fl.position = f.position
    LEFT JOIN rm_parties r ON r.id = f.receivers[1]  -- regions are asked, not kept
    LEFT JOIN rm_parties g ON g.id = f.givers[1]
    WHERE f.effective_on BETWEEN %(low)s AND %(high)s
      AND f.recorded_at <= %(known_at)s
      AND (%(region)s::text IS NULL OR {receiver_in} OR {giver_in})  -- regions nest
      AND (%(recipient_kind)s::text IS NULL OR f.r_kind = %(recipient_kind)s)
      -- issue 18 (pools): the receiver's qualification on the deal's date, the patents' IPC
      AND (%(qualification)s::text IS NULL OR %(qualification)s = ANY(f.r_qualifications))
      AND (%(ipc_section)s::text IS NULL OR EXISTS (
          SELECT 1 FROM unnest(f.patents) AS p(number)
          CROSS JOIN LATERAL (SELECT x.sections FROM rm_patent_ipc x WHERE x.number = p.number
                              ORDER BY x.effective_on DESC, x.position DESC LIMIT 1) AS c
          WHERE %(ipc_section)s = ANY(c.sections)))
), tagged AS (
    {tags}
    UNION ALL
    SELECT 'K10', 'flagged_left_out', base.* FROM base WHERE flagged
), counted AS (
    SELECT indicator, dimension, period, count(*) AS n,
           sum(amount) FILTER (WHERE currency = 'CNY') AS amount,
           sum(recovered) AS recovered, sum(owed) AS owed, sum(shortfall) AS shortfall,
           count(DISTINCT givers[1]) AS givers
    FROM tagged GROUP BY 1, 2, 3
), patents AS (
    SELECT indicator, dimension, period, count(DISTINCT p) AS np
    FROM tagged, unnest(patents) AS p GROUP BY 1, 2, 3
)
SELECT c.indicator, c.dimension, c.period, c.n, c.amount, c.recovered, c.owed, c.shortfall, c.givers,
       coalesce(p.np, 0) AS np
FROM counted c
LEFT JOIN patents p USING (indicator, dimension, period)
ORDER BY indicator, dimension, period
"""


def _raw() -> str:
    selects = [f"SELECT '{ind}' AS indicator, {dim} AS dimension, base.* FROM base "
               f"WHERE ({cond}) AND NOT (%(exclude_flagged)s AND flagged)"
               for ind, dim, cond in TAGS]
    return _RAW.format(flagged=FLAGGED, receiver_in=regions.sql_match("r.region"),
                       giver_in=regions.sql_match("g.region"),
                       tags="\n    UNION ALL\n    ".join(selects))


RAW_QUERY = _raw()

# --- the rollup, written by the "indicators" projection ---------------------------------------

MONTHS = range(1, 13)
QUARTERS = (1, 4, 7, 10)  # first months


def _bits(first: int, last: int) -> int:
    """The mask of months first..last in a member's `months`."""
    return sum(1 << (m - 1) for m in range(first, last + 1))


# A member is new in a period when it had no deal there before this batch: in its year, when
# none of its month bits was set before; in a quarter or a month, when its bits there were all
# unset before and this batch set one (`fresh`). One bit mask per member and year answers all
# three granularities; summing its month slots instead (17 sums of array elements per member)
# cost more than the upsert itself.
_NEW_IN = ([("year", 1, "before = 0")]
           + [("quarter", q, f"before & {_bits(q, q + 2)} = 0 AND fresh & {_bits(q, q + 2)} <> 0")
              for q in QUARTERS]
           + [("month", m, f"fresh & {_bits(m, m)} <> 0") for m in MONTHS])

_WRITE = """
WITH tagged AS (
    SELECT t.indicator, t.dimension, date_trunc('month', b.effective_on::timestamp)::date AS month,
           b.amount, b.currency, b.recovered, b.owed, b.shortfall, b.patents, b.givers[1] AS giver
    FROM {facts} b
    CROSS JOIN LATERAL (VALUES
        {tags}
    ) AS t(indicator, dimension, hit)
    WHERE t.hit AND b.position BETWEEN %(first)s AND %(last)s
), hits AS (
    SELECT indicator, dimension, 'patent' AS role, p AS member, month
    FROM tagged, unnest(patents) AS p
    UNION ALL
    SELECT indicator, dimension, 'giver', giver, month
    FROM tagged WHERE giver IS NOT NULL AND indicator = 'K6' AND dimension = 'registered'
), added AS (  -- each member's deals by month of its year, and the months it is in
    SELECT date_trunc('year', month::timestamp)::date AS year, indicator, dimension, role,
           member, ARRAY[{by_month}] AS deals, bit_or(bit) AS months
    FROM (SELECT *, 1 << (date_part('month', month)::integer - 1) AS bit FROM hits) AS h
    GROUP BY 1, 2, 3, 4, 5
), members AS (  -- where each one's row is and the months it was in before this batch
    SELECT a.*, m.ctid AS at, coalesce(m.months, 0) AS before,
           a.months & ~coalesce(m.months, 0) AS fresh
    FROM added a LEFT JOIN {members} m USING (year, indicator, dimension, role, member)
), updated AS (  -- by row address: found once, not looked up again as an upsert would
    UPDATE {members} AS m SET deals = ARRAY[{slot_sums}], months = m.months | e.months
    FROM members e WHERE m.ctid = e.at
), inserted AS (
    INSERT INTO {members} (year, indicator, dimension, role, member, deals, months)
    SELECT year, indicator, dimension, role, member, deals, months FROM members WHERE at IS NULL
), new_members AS (  -- how many members each period of each year gained
    SELECT year, indicator, dimension, role,
           {new_counts}
    FROM members GROUP BY 1, 2, 3, 4
), fresh_counts AS (
    SELECT s.granularity, (n.year + (s.first_month - 1) * interval '1 month')::date AS period,
           n.indicator, n.dimension,
           coalesce(sum(s.gained) FILTER (WHERE n.role = 'patent'), 0) AS patents,
           coalesce(sum(s.gained) FILTER (WHERE n.role = 'giver'), 0) AS givers
    FROM new_members n
    CROSS JOIN LATERAL (VALUES
        {new_rows}
    ) AS s(granularity, first_month, gained)
    GROUP BY 1, 2, 3, 4
), by_month AS (
    SELECT month, indicator, dimension, count(*) AS deals,
           sum(amount) FILTER (WHERE currency = 'CNY') AS amount,
           count(amount) FILTER (WHERE currency = 'CNY') AS priced,
           sum(recovered) AS recovered, sum(owed) AS owed, sum(shortfall) AS shortfall
    FROM tagged GROUP BY 1, 2, 3
), sums AS (
    SELECT gr.granularity, date_trunc(gr.granularity, b.month::timestamp)::date AS period,
           b.indicator, b.dimension, sum(b.deals) AS deals, sum(b.amount) AS amount,
           sum(b.priced) AS priced, sum(b.recovered) AS recovered, sum(b.owed) AS owed,
           sum(b.shortfall) AS shortfall
    FROM by_month b CROSS JOIN (VALUES ('year'), ('quarter'), ('month')) AS gr(granularity)
    GROUP BY 1, 2, 3, 4
)
INSERT INTO {totals} AS t (granularity, period, indicator, dimension, deals, amount, priced,
                           recovered, owed, shortfall, patents, givers)
SELECT s.granularity, s.period, s.indicator, s.dimension, s.deals, s.amount, s.priced,
       s.recovered, s.owed, s.shortfall, coalesce(f.patents, 0), coalesce(f.givers, 0)
FROM sums s LEFT JOIN fresh_counts f USING (granularity, period, indicator, dimension)
ON CONFLICT (granularity, period, indicator, dimension) DO UPDATE SET
    deals = t.deals + EXCLUDED.deals,
    amount = coalesce(t.amount + EXCLUDED.amount, t.amount, EXCLUDED.amount),
    priced = t.priced + EXCLUDED.priced,
    recovered = coalesce(t.recovered + EXCLUDED.recovered, t.recovered, EXCLUDED.recovered),
    owed = coalesce(t.owed + EXCLUDED.owed, t.owed, EXCLUDED.owed),
    shortfall = coalesce(t.shortfall + EXCLUDED.shortfall, t.shortfall, EXCLUDED.shortfall),
    patents = t.patents + EXCLUDED.patents,
    givers = t.givers + EXCLUDED.givers
"""


def _write() -> str:
    by_month = ", ".join(f"count(*) FILTER (WHERE bit = {_bits(m, m)})::integer"
                         for m in MONTHS)
    slot_sums = ", ".join(f"m.deals[{m}] + e.deals[{m}]" for m in MONTHS)
    new_counts = ",\n           ".join(f"count(*) FILTER (WHERE {test}) AS {g}_{first}"
                                       for g, first, test in _NEW_IN)
    new_rows = ",\n        ".join(f"('{g}', {first}, {g}_{first})" for g, first, _ in _NEW_IN)
    return _WRITE.format(facts="{facts}", members="{members}", totals="{totals}",
                         tags=_lateral_tags(), by_month=by_month, slot_sums=slot_sums,
                         new_counts=new_counts, new_rows=new_rows)


def rollup_write(facts: str, suffix: str = "") -> Composed:
    """The statement adding the facts in table `facts` (positions %(first)s..%(last)s);
    `suffix` names the shadow tables of a rebuild."""
    return SQL(_write()).format(facts=Identifier(facts),
                            members=Identifier("rm_indicator_members" + suffix),
                            totals=Identifier("rm_indicator_totals" + suffix))


# --- the rollup, read --------------------------------------------------------------------------

_READ = """
WITH {flagged}, base AS (
    SELECT f.* FROM rm_deal_facts f
    JOIN flagged fl ON fl.position = f.position
    WHERE f.effective_on BETWEEN %(low)s AND %(high)s
), out AS (  -- flagged deals, tagged like the rollup, to take out of it
    SELECT t.indicator, t.dimension, date_trunc(%(granularity)s, b.effective_on)::date AS period,
           b.amount, b.currency, b.recovered, b.owed, b.shortfall, b.patents, b.givers[1] AS giver
    FROM base b
    CROSS JOIN LATERAL (VALUES
        {tags}
    ) AS t(indicator, dimension, hit)
    WHERE t.hit AND %(exclude_flagged)s
), out_sums AS (
    SELECT indicator, dimension, period, count(*) AS deals,
           sum(amount) FILTER (WHERE currency = 'CNY') AS amount,
           count(amount) FILTER (WHERE currency = 'CNY') AS priced,
           sum(recovered) AS recovered, sum(owed) AS owed, sum(shortfall) AS shortfall
    FROM out GROUP BY 1, 2, 3
), out_members AS (
    SELECT indicator, dimension, period, 'patent' AS role, p AS member, count(*) AS deals
    FROM out, unnest(patents) AS p GROUP BY 1, 2, 3, 5
    UNION ALL
    SELECT indicator, dimension, period, 'giver', giver, count(*)
    FROM out WHERE giver IS NOT NULL AND indicator = 'K6' AND dimension = 'registered'
    GROUP BY 1, 2, 3, 5
), gone AS (  -- members every one of whose deals in the period is flagged
    SELECT o.indicator, o.dimension, o.period,
           count(*) FILTER (WHERE o.role = 'patent') AS patents,
           count(*) FILTER (WHERE o.role = 'giver') AS givers
    FROM out_members o
    JOIN rm_indicator_members m ON m.year = date_trunc('year', o.period::timestamp)::date
        AND m.indicator = o.indicator AND m.dimension = o.dimension AND m.role = o.role
        AND m.member = o.member
    CROSS JOIN LATERAL (  -- the member's deals in the period: its month slots added up
        SELECT sum(n) AS deals FROM unnest(m.deals) WITH ORDINALITY AS s(n, month)
        WHERE s.month BETWEEN extract(month FROM o.period)
              AND extract(month FROM o.period) + {last_month}
    ) AS within
    WHERE within.deals <= o.deals
    GROUP BY 1, 2, 3
), left_in AS (
    SELECT t.indicator, t.dimension, t.period, t.deals - coalesce(s.deals, 0) AS n,
           CASE WHEN t.priced - coalesce(s.priced, 0) > 0
                THEN t.amount - coalesce(s.amount, 0) END AS amount,
           t.recovered - coalesce(s.recovered, 0) AS recovered,
           t.owed - coalesce(s.owed, 0) AS owed,
           t.shortfall - coalesce(s.shortfall, 0) AS shortfall,
           t.givers - coalesce(x.givers, 0) AS givers,
           t.patents - coalesce(x.patents, 0) AS np
    FROM rm_indicator_totals t
    LEFT JOIN out_sums s USING (indicator, dimension, period)
    LEFT JOIN gone x USING (indicator, dimension, period)
    WHERE t.granularity = %(granularity)s AND t.period BETWEEN %(low)s AND %(high)s
), flagged_rows AS (
    SELECT date_trunc(%(granularity)s, b.effective_on)::date AS period, b.* FROM base b
), flagged_patents AS (
    SELECT period, count(DISTINCT p) AS np FROM flagged_rows, unnest(patents) AS p GROUP BY 1
), flagged_left_out AS (
    SELECT 'K10'::text AS indicator, 'flagged_left_out'::text AS dimension, f.period,
           count(*) AS n, sum(f.amount) FILTER (WHERE f.currency = 'CNY') AS amount,
           sum(f.recovered) AS recovered, sum(f.owed) AS owed,
           sum(f.shortfall) AS shortfall,
           count(DISTINCT f.givers[1]) AS givers, coalesce(max(p.np), 0) AS np
    FROM flagged_rows f LEFT JOIN flagged_patents p USING (period)
    GROUP BY f.period
)
SELECT * FROM left_in WHERE n > 0
UNION ALL
SELECT * FROM flagged_left_out
ORDER BY indicator, dimension, period
"""

_LAST_MONTH = "CASE %(granularity)s WHEN 'month' THEN 0 WHEN 'quarter' THEN 2 ELSE 11 END"
ROLLUP_QUERY = _READ.format(flagged=FLAGGED, tags=_lateral_tags(), last_month=_LAST_MONTH)
