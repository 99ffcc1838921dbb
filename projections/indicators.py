"""Performance indicators K1..K10 (domain.md section 8) from `rm_deal_facts`, in one SQL pass.

By period (year, quarter, month), region and kind of the receiving party, as known at a moment,
with flagged deals (evidence of any anomaly) left out unless asked for. K7 is year-on-year
growth on every row, plus progress against the targets in `config/indicator_targets.toml`.
Amounts are summed in CNY only (other currencies are counted, not summed).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

TARGETS_FILE = Path(__file__).resolve().parent.parent / "config" / "indicator_targets.toml"
GRANULARITIES = ("year", "quarter", "month")
MAX_SPAN_DAYS = 366 * 10  # one answer covers at most ten years

# (indicator, dimension SQL, condition SQL) over the rows of `base` (see INDICATORS_SQL).
_TAGS = [
    ("K1", "'transfers'", "kind = 'transfer'"),
    ("K2", "coalesce(detail, 'unknown')", "kind = 'licence'"),
    ("K3", "'contributions'", "kind = 'equity_contribution'"),
    ("K4", "r_size", "kind IN ('transfer', 'licence', 'equity_contribution') AND "
                     "r_kind = 'enterprise' AND r_size IN ('micro', 'small', 'medium')"),
    ("K5", "coalesce(r_kind, 'unknown')",
     "kind IN ('transfer', 'licence', 'equity_contribution') AND "
     "g_kind IN ('university', 'research_institute')"),
    ("K6", "'registered'", "kind = 'pledge'"),
    ("K6", "'under_10m'", "kind = 'pledge' AND amount < 10000000"),
    ("K6", "'released'", "kind = 'pledge_release'"),
    ("K6", "'defaulted'", "kind = 'default'"),
    ("K6", "'disposed'", "kind = 'disposal'"),
    ("K8", "coalesce(detail, 'unknown')", "kind = 'disposal'"),
    ("K9", "'declared'", "kind = 'open_licence_declaration'"),
    ("K9", "'taken'", "kind = 'open_licence_take_up'"),
    ("K9", "'withdrawn'", "kind = 'open_licence_withdrawal'"),
    ("K10", "'late_filings'", "late"),
    ("K10", "'corrections'", "corrects IS NOT NULL"),
]

# Flagged positions (evidence of any anomaly a regulator has not dismissed) are gathered once
# and hash-joined: asking rm_anomalies once per fact timed out on a 30,000-event log.
INDICATORS_SQL = """
WITH flagged AS MATERIALIZED (
    SELECT DISTINCT unnest(a.evidence) AS position FROM rm_anomalies a
    WHERE NOT EXISTS (SELECT 1 FROM rm_findings d
                      WHERE d.anomaly_id = a.id AND d.decision = 'dismissed')
), base AS (
    SELECT f.*, date_trunc(%(granularity)s, f.effective_on)::date AS period,
           r.kind AS r_kind, r.size AS r_size, r.region AS r_region, g.kind AS g_kind,
           fl.position IS NOT NULL AS flagged
    FROM rm_deal_facts f
    LEFT JOIN flagged fl ON fl.position = f.position
    LEFT JOIN rm_parties r ON r.id = f.receivers[1]
    LEFT JOIN rm_parties g ON g.id = f.givers[1]
    WHERE f.effective_on BETWEEN %(low)s AND %(high)s
      AND f.recorded_at <= %(known_at)s
      AND (%(region)s::text IS NULL OR r.region = %(region)s OR g.region = %(region)s)
      AND (%(recipient_kind)s::text IS NULL OR r.kind = %(recipient_kind)s)
), tagged AS (
    {tags}
    UNION ALL
    SELECT 'K10', 'flagged_left_out', base.* FROM base WHERE flagged
), counted AS (
    SELECT indicator, dimension, period, count(*) AS n,
           sum(amount) FILTER (WHERE currency = 'CNY') AS amount,
           sum(recovered) AS recovered, sum(owed) AS owed,
           count(DISTINCT givers[1]) AS givers
    FROM tagged GROUP BY 1, 2, 3
), patents AS (
    SELECT indicator, dimension, period, count(DISTINCT p) AS np
    FROM tagged, unnest(patents) AS p GROUP BY 1, 2, 3
)
SELECT c.*, coalesce(p.np, 0) AS np FROM counted c
LEFT JOIN patents p USING (indicator, dimension, period)
ORDER BY indicator, dimension, period
"""


def _sql() -> str:
    selects = [f"SELECT '{ind}' AS indicator, {dim} AS dimension, base.* FROM base "
               f"WHERE ({cond}) AND NOT (%(exclude_flagged)s AND flagged)"
               for ind, dim, cond in _TAGS]
    return INDICATORS_SQL.format(tags="\n    UNION ALL\n    ".join(selects))


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    indicator: str
    period: date
    dimension: str
    value: Decimal  # events; K8: the recovery ratio; K6 'enterprises': distinct pledgors
    count: int
    patents: int
    amount: Decimal | None
    yoy_growth: Decimal | None = None
    target: Decimal | None = None
    progress: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    basis: str
    indicator: str
    dimension: str | None
    measure: str  # count, patents or amount
    target: Decimal
    window_years: int
    growth: Decimal


@cache
def targets(path: Path = TARGETS_FILE) -> tuple[Target, ...]:
    with path.open("rb") as source:
        raw = tomllib.load(source)
    return tuple(Target(name, t["basis"], t["indicator"], t.get("dimension"), t["measure"],
                        Decimal(str(t["target"])), int(t["window_years"]),
                        Decimal(str(t.get("growth", 0)))) for name, t in raw.items())


def year_before(day: date) -> date:
    if day.month == 2 and day.day == 29:
        return day.replace(year=day.year - 1, day=28)
    return day.replace(year=day.year - 1)


def rows_from(records: list[dict[str, Any]]) -> list[IndicatorRow]:
    rows = []
    for r in records:
        value = Decimal(r["n"])
        if r["indicator"] == "K8" and r["owed"]:
            value = (Decimal(r["recovered"] or 0) / Decimal(r["owed"])).quantize(Decimal("0.0001"))
        rows.append(IndicatorRow(r["indicator"], r["period"], r["dimension"], value, r["n"],
                                 r["np"], r["amount"]))
        if r["indicator"] == "K6" and r["dimension"] == "registered":
            rows.append(IndicatorRow("K6", r["period"], "enterprises", Decimal(r["givers"]),
                                     r["givers"], r["np"], None))
    return rows


def with_growth(rows: list[IndicatorRow], low: date) -> list[IndicatorRow]:
    """K7: each row's growth over the same period a year before; rows before `low` only serve
    as that comparison and are dropped."""
    earlier = {(r.indicator, r.dimension, r.period): r for r in rows}
    out = []
    for row in rows:
        if row.period < low:
            continue
        before = earlier.get((row.indicator, row.dimension,
                              year_before(row.period)))
        growth = None
        if before is not None and before.value:
            growth = ((row.value - before.value) / before.value).quantize(Decimal("0.0001"))
        out.append(replace(row, yoy_growth=growth))
    return out


def progress(rows: list[IndicatorRow], low: date, high: date) -> list[IndicatorRow]:
    """K7 rows: what the answer's range achieved against each configured target (scaled to
    the range's length in years, compounding the target's yearly growth)."""
    years = max(Decimal((high - low).days + 1) / Decimal("365.25"), Decimal("0.0001"))
    out = []
    for t in targets():
        chosen = [r for r in rows if r.indicator == t.indicator and
                  (t.dimension is None or r.dimension == t.dimension)]
        achieved = sum((Decimal(getattr(r, t.measure) or 0) for r in chosen), Decimal(0))
        goal = t.target * years / t.window_years
        if t.growth:
            goal = t.target * sum(((1 + t.growth) ** y for y in range(int(years.to_integral_value(
                rounding="ROUND_CEILING")))), Decimal(0)) / t.window_years
        out.append(IndicatorRow("K7", low, f"target:{t.name}", achieved, len(chosen), 0,
                                None, None, goal.quantize(Decimal(1)),
                                (achieved / goal).quantize(Decimal("0.0001")) if goal else None))
    return out


def query_parameters(low: date, high: date, granularity: str, region: str | None,
                     recipient_kind: str | None, exclude_flagged: bool,
                     known_at: datetime) -> dict[str, Any]:
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    if high < low or (high - low).days > MAX_SPAN_DAYS:
        raise ValueError(f"from must not be after to, and the span at most {MAX_SPAN_DAYS} days")
    return {"granularity": granularity, "low": year_before(low), "high": high,
            "region": region, "recipient_kind": recipient_kind,
            "exclude_flagged": exclude_flagged, "known_at": known_at}


INDICATORS_QUERY = _sql()
