"""The SQL that keeps flagged deals out of the indicators' rollup as flags change.

A deal that is evidence of an anomaly no regulator dismissed is left out of K1..K10 (and
counted in K10 'flagged_left_out'). `projections/indicator_sql.py`'s `ROLLUP_QUERY` takes those
deals out at query time, so its cost grows with the flags in its span: at 10,000,000 events of
the national mix (55,337 open AR-7 flags) every query ran past the 5 s read limit. Here the
"indicator_flags" settler (`projections/indicator_flags.py`) keeps what the open flags take out
of each row of `rm_indicator_totals`, changing it only where a flag was raised or dismissed or
where a member of a flagged deal gained other deals, and `ADJUSTED_QUERY` subtracts it: a
query reads two rows per (indicator, dimension, period), whatever the flags.

Distinct counts stay exact. A member (patent, or pledging enterprise) leaves a period's count
only when every deal that brought it there is flagged: each member with flagged deals keeps its
flagged deals by month, and a mask of the periods (its year, quarters and months) where it is
gone, compared against its deals in `rm_indicator_members`; a change of the mask moves the
period's count. `tests/test_indicators.py` holds this query to the raw one over the facts.
"""

from __future__ import annotations

from projections.indicator_sql import MONTHS, QUARTERS, TAGS

LOCK_KEY = 0x1D1CF1A6  # pg_advisory_xact_lock: one settler at a time, whatever the process
FLAGGED_OUT = ("K10", "flagged_left_out")  # the flagged deals themselves, as K10 reports them

# The periods a member's `gone` mask covers: (bit, granularity, first month).
PERIODS = ([(0, "year", 1)]
           + [(1 + i, "quarter", q) for i, q in enumerate(QUARTERS)]
           + [(5 + i, "month", m) for i, m in enumerate(MONTHS)])
ZERO_MONTHS = "'{" + ",".join("0" for _ in MONTHS) + "}'::integer[]"

VALID = """
SELECT s.audit_generation = a.generation AND s.anomalies_generation = n.generation
       AND s.indicators_generation = i.generation AND f.error IS NULL
FROM rm_indicator_flag_state s, projection_positions a, projection_positions n,
     projection_positions i, projection_positions f
WHERE a.name = 'audit' AND n.name = 'anomalies' AND i.name = 'indicators'
  AND f.name = 'indicator_flags'
"""

# --- which positions changed, and which way --------------------------------------------------

CHANGED_TABLE = "indicator_flag_changed"  # per connection, emptied at each commit
DELTA_TABLE = "indicator_flag_delta"
TEMP_TABLES = (f"CREATE TEMP TABLE IF NOT EXISTS {CHANGED_TABLE} (position bigint NOT NULL)"
               " ON COMMIT DELETE ROWS",
               f"CREATE TEMP TABLE IF NOT EXISTS {DELTA_TABLE} (position bigint NOT NULL,"
               " sign integer NOT NULL) ON COMMIT DELETE ROWS")

_OPEN = """NOT EXISTS (SELECT 1 FROM rm_findings d
                  WHERE d.anomaly_id = a.id AND d.decision = 'dismissed')"""

QUEUED = "SELECT EXISTS (SELECT 1 FROM rm_indicator_flag_queue WHERE position <= %(through)s)"

# The queue's positions up to the settled range (later ones wait until their deals are folded).
TAKE_QUEUED = f"""
WITH taken AS (DELETE FROM rm_indicator_flag_queue WHERE position <= %(through)s RETURNING position)
INSERT INTO {CHANGED_TABLE} SELECT DISTINCT position FROM taken
"""

# Afresh (after a rebuild, or the first time): every flagged position up to the range.
START_AFRESH = ("TRUNCATE rm_indicator_flagged, rm_indicator_flag_totals,"
                " rm_indicator_flag_members")
TAKE_ALL_FLAGGED = f"""
INSERT INTO {CHANGED_TABLE}
SELECT DISTINCT e.position FROM rm_anomalies a CROSS JOIN unnest(a.evidence) AS e(position)
WHERE e.position <= %(through)s AND {_OPEN}
"""
DROP_QUEUED = "DELETE FROM rm_indicator_flag_queue WHERE position <= %(through)s"

# Of the changed positions: deals flagged now and not yet taken out (+1), and deals taken out
# whose flags are gone or dismissed (-1); `rm_indicator_flagged` follows.
_DELTA = """
WITH now_flagged AS (
    {now_flagged}
), raised AS (
    SELECT n.position, 1 AS sign FROM now_flagged n
    WHERE EXISTS (SELECT 1 FROM rm_deal_facts f WHERE f.position = n.position)
      AND NOT EXISTS (SELECT 1 FROM rm_indicator_flagged s WHERE s.position = n.position)
), lowered AS (
    SELECT s.position, -1 AS sign FROM rm_indicator_flagged s
    JOIN {changed} c USING (position)
    WHERE NOT EXISTS (SELECT 1 FROM now_flagged n WHERE n.position = s.position)
), added AS (
    INSERT INTO rm_indicator_flagged SELECT position FROM raised
), removed AS (
    DELETE FROM rm_indicator_flagged s USING lowered l WHERE s.position = l.position
)
INSERT INTO {delta} SELECT position, sign FROM raised UNION ALL SELECT position, sign FROM lowered
"""
# One probe of the evidence index a changed position: a page's changes name thousands of
# positions when a flag with long evidence is replaced, and one array overlap of them all
# scanned every flag (2 s a page on the write benchmark's log).
_NOW_FLAGGED_OF_CHANGED = f"""
    SELECT DISTINCT c.position FROM {CHANGED_TABLE} c
    WHERE EXISTS (SELECT 1 FROM rm_anomalies a
                  WHERE a.evidence @> ARRAY[c.position] AND {_OPEN})"""
DELTA = _DELTA.format(now_flagged=_NOW_FLAGGED_OF_CHANGED, changed=CHANGED_TABLE,
                      delta=DELTA_TABLE)
DELTA_AFRESH = _DELTA.format(now_flagged=f"SELECT position FROM {CHANGED_TABLE}",
                             changed=CHANGED_TABLE, delta=DELTA_TABLE)

# --- what the changes take out ---------------------------------------------------------------

_APPLY = """
WITH facts AS (
    SELECT f.*, d.sign FROM {delta} d JOIN rm_deal_facts f USING (position)
), tagged AS (
    SELECT t.indicator, t.dimension, date_trunc('month', b.effective_on::timestamp)::date AS month,
           b.sign, b.amount, b.currency, b.recovered, b.owed, b.shortfall, b.patents,
           b.givers[1] AS giver
    FROM facts b
    CROSS JOIN LATERAL (VALUES
        {tags},
        ('{out_indicator}', '{out_dimension}', true)
    ) AS t(indicator, dimension, hit)
    WHERE t.hit
), arrived AS (  -- deals folded since the last settle: members of theirs gone from a period
    SELECT t.indicator, t.dimension, date_trunc('month', b.effective_on::timestamp)::date AS month,
           b.patents, b.givers[1] AS giver
    FROM rm_deal_facts b
    CROSS JOIN LATERAL (VALUES
        {tags}
    ) AS t(indicator, dimension, hit)
    WHERE t.hit AND b.position > %(after)s AND b.position <= %(through)s
      -- Only members gone from some period can come back; most deals name none of them.
      AND (EXISTS (SELECT 1 FROM rm_indicator_flag_members m
                   WHERE m.member = ANY(b.patents) AND m.gone <> 0)
           OR EXISTS (SELECT 1 FROM rm_indicator_flag_members m
                      WHERE m.member = b.givers[1] AND m.gone <> 0))
), hits AS (  -- flagged deals each member gained (+1) or lost (-1), and members to judge again (0)
    SELECT indicator, dimension, 'patent' AS role, p AS member, month, sign
    FROM tagged, unnest(patents) AS p
    UNION ALL
    SELECT indicator, dimension, 'giver', giver, month, sign FROM tagged
    WHERE giver IS NOT NULL AND {giver_counted}
    UNION ALL
    SELECT h.indicator, h.dimension, h.role, h.member, h.month, 0
    FROM (SELECT indicator, dimension, 'patent' AS role, p AS member, month
          FROM arrived, unnest(patents) AS p
          UNION
          SELECT indicator, dimension, 'giver', giver, month FROM arrived
          WHERE giver IS NOT NULL AND {giver_counted}) AS h
    WHERE EXISTS (SELECT 1 FROM rm_indicator_flag_members m
                  WHERE m.year = date_trunc('year', h.month::timestamp)::date
                    AND m.indicator = h.indicator AND m.dimension = h.dimension
                    AND m.role = h.role AND m.member = h.member AND m.gone <> 0)
), deltas AS (
    SELECT date_trunc('year', month::timestamp)::date AS year, indicator, dimension, role,
           member, ARRAY[{by_month}] AS delta
    FROM hits GROUP BY 1, 2, 3, 4, 5
), members AS (
    SELECT d.year, d.indicator, d.dimension, d.role, d.member,
           coalesce(o.gone, 0) AS old_gone, ARRAY[{slot_sums}] AS flagged, r.deals
    FROM deltas d
    LEFT JOIN rm_indicator_flag_members o USING (year, indicator, dimension, role, member)
    LEFT JOIN rm_indicator_members r USING (year, indicator, dimension, role, member)
), bits AS (  -- months with deals, and months with deals not all flagged (bit m-1)
    SELECT m.year, m.indicator, m.dimension, m.role, m.member, m.old_gone, m.flagged,
           months.present, months.live
    FROM members m
    CROSS JOIN LATERAL (
        SELECT coalesce(bit_or(1 << (s.month - 1)::integer) FILTER (WHERE s.deals > 0), 0)
                   AS present,
               coalesce(bit_or(1 << (s.month - 1)::integer) FILTER (WHERE s.deals > s.flagged), 0)
                   AS live
        FROM unnest(CASE WHEN (m.indicator, m.dimension) = ('{out_indicator}', '{out_dimension}')
                         THEN m.flagged ELSE coalesce(m.deals, {zero}) END,
                    m.flagged) WITH ORDINALITY AS s(deals, flagged, month)
    ) AS months
), judged AS (  -- gone from a period: deals there, none of them unflagged
    SELECT b.year, b.indicator, b.dimension, b.role, b.member, b.old_gone, b.flagged,
           (SELECT coalesce(bit_or(1 << p.bit), 0) FROM (VALUES {period_masks}) AS p(bit, mask)
            WHERE b.present & p.mask <> 0 AND b.live & p.mask = 0) AS gone,
           b.flagged <> {zero} AS has_flags
    FROM bits b
), kept AS (
    INSERT INTO rm_indicator_flag_members AS m (year, indicator, dimension, role, member,
                                                flagged, gone)
    SELECT year, indicator, dimension, role, member, flagged, gone FROM judged WHERE has_flags
    ON CONFLICT (year, indicator, dimension, role, member) DO UPDATE
    SET flagged = EXCLUDED.flagged, gone = EXCLUDED.gone
), dropped AS (
    DELETE FROM rm_indicator_flag_members m USING judged j
    WHERE NOT j.has_flags AND m.year = j.year AND m.indicator = j.indicator
      AND m.dimension = j.dimension AND m.role = j.role AND m.member = j.member
), gone_moves AS (  -- members leaving (+1) or coming back to (-1) each period's count
    SELECT s.granularity, (j.year + (s.first_month - 1) * interval '1 month')::date AS period,
           j.indicator, j.dimension,
           coalesce(sum(((j.gone >> s.bit) & 1) - ((j.old_gone >> s.bit) & 1))
                    FILTER (WHERE j.role = 'patent'), 0) AS patents,
           coalesce(sum(((j.gone >> s.bit) & 1) - ((j.old_gone >> s.bit) & 1))
                    FILTER (WHERE j.role = 'giver'), 0) AS givers
    FROM judged j
    CROSS JOIN (VALUES
        {periods}
    ) AS s(bit, granularity, first_month)
    WHERE j.gone <> j.old_gone
    GROUP BY 1, 2, 3, 4
), deal_moves AS (
    SELECT gr.granularity, date_trunc(gr.granularity, month::timestamp)::date AS period,
           indicator, dimension, sum(sign) AS deals,
           coalesce(sum(sign * amount) FILTER (WHERE currency = 'CNY'), 0) AS amount,
           coalesce(sum(sign) FILTER (WHERE currency = 'CNY' AND amount IS NOT NULL), 0)
               AS priced,
           coalesce(sum(sign * recovered), 0) AS recovered,
           coalesce(sum(sign * owed), 0) AS owed,
           coalesce(sum(sign * shortfall), 0) AS shortfall
    FROM tagged CROSS JOIN (VALUES ('year'), ('quarter'), ('month')) AS gr(granularity)
    GROUP BY 1, 2, 3, 4
)
INSERT INTO rm_indicator_flag_totals AS t (granularity, period, indicator, dimension, deals,
                                           amount, priced, recovered, owed, shortfall,
                                           patents, givers)
SELECT granularity, period, indicator, dimension, coalesce(d.deals, 0), coalesce(d.amount, 0),
       coalesce(d.priced, 0), coalesce(d.recovered, 0), coalesce(d.owed, 0),
       coalesce(d.shortfall, 0), coalesce(g.patents, 0), coalesce(g.givers, 0)
FROM deal_moves d FULL JOIN gone_moves g USING (granularity, period, indicator, dimension)
ON CONFLICT (granularity, period, indicator, dimension) DO UPDATE SET
    deals = t.deals + EXCLUDED.deals, amount = t.amount + EXCLUDED.amount,
    priced = t.priced + EXCLUDED.priced, recovered = t.recovered + EXCLUDED.recovered,
    owed = t.owed + EXCLUDED.owed, shortfall = t.shortfall + EXCLUDED.shortfall,
    patents = t.patents + EXCLUDED.patents, givers = t.givers + EXCLUDED.givers
"""


def _period_mask(granularity: str, first: int) -> int:
    """The mask of the months a period covers."""
    months = {"year": 12, "quarter": 3, "month": 1}[granularity]
    return sum(1 << (m - 1) for m in range(first, first + months))


def _apply() -> str:
    tags = ",\n        ".join(f"('{ind}', {dim}, coalesce({cond}, false))"
                              for ind, dim, cond in TAGS)
    out_indicator, out_dimension = FLAGGED_OUT
    giver_counted = (f"((indicator = 'K6' AND dimension = 'registered')"
                     f" OR (indicator, dimension) = ('{out_indicator}', '{out_dimension}'))")
    return _APPLY.format(
        delta=DELTA_TABLE, tags=tags, out_indicator=out_indicator, out_dimension=out_dimension,
        giver_counted=giver_counted, zero=ZERO_MONTHS,
        by_month=", ".join(f"coalesce(sum(sign) FILTER (WHERE date_part('month', month) = {m}),"
                           " 0)::integer" for m in MONTHS),
        slot_sums=", ".join(f"coalesce(o.flagged[{m}], 0) + d.delta[{m}]" for m in MONTHS),
        period_masks=", ".join(f"({bit}, {_period_mask(granularity, first)})"
                               for bit, granularity, first in PERIODS),
        periods=",\n        ".join(f"({bit}, '{g}', {first})" for bit, g, first in PERIODS))


APPLY = _apply()

# --- the read ------------------------------------------------------------------------------------

ADJUSTED_QUERY = f"""
WITH kept AS (
    SELECT t.indicator, t.dimension, t.period, t.deals - coalesce(a.deals, 0) AS n,
           CASE WHEN t.priced - coalesce(a.priced, 0) > 0
                THEN t.amount - coalesce(a.amount, 0) END AS amount,
           t.recovered - coalesce(a.recovered, 0) AS recovered,
           t.owed - coalesce(a.owed, 0) AS owed,
           t.shortfall - coalesce(a.shortfall, 0) AS shortfall,
           t.givers - coalesce(a.givers, 0) AS givers,
           t.patents - coalesce(a.patents, 0) AS np
    FROM rm_indicator_totals t
    LEFT JOIN rm_indicator_flag_totals a ON %(exclude_flagged)s
        AND a.granularity = t.granularity AND a.period = t.period
        AND a.indicator = t.indicator AND a.dimension = t.dimension
    WHERE t.granularity = %(granularity)s AND t.period BETWEEN %(low)s AND %(high)s
), flagged_left_out AS (
    SELECT indicator, dimension, period, deals AS n,
           CASE WHEN priced > 0 THEN amount END AS amount, recovered, owed, shortfall,
           givers, patents AS np
    FROM rm_indicator_flag_totals
    WHERE (indicator, dimension) = ('{FLAGGED_OUT[0]}', '{FLAGGED_OUT[1]}')
      AND granularity = %(granularity)s AND period BETWEEN %(low)s AND %(high)s
)
SELECT * FROM kept WHERE n > 0
UNION ALL
SELECT * FROM flagged_left_out WHERE n > 0
ORDER BY indicator, dimension, period
"""
