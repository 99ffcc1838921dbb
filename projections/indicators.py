"""Performance indicators K1..K10 (domain.md section 8) from `rm_deal_facts`, in one SQL pass.

By period (year, quarter, month), region (GB/T 2260 codes nest: a province's figures include
its prefectures and counties) and kind of the receiving party, as known at a moment, with
flagged deals (evidence of any anomaly) left out unless asked for. K7 is year-on-year growth on
every row, plus, when a programme is asked, progress against its targets
(`projections/programme_progress.py`). Amounts are summed in CNY only (other currencies are
counted, not summed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ledger.law.classification import IPC_SECTIONS, Qualification
from projections import regions

GRANULARITIES = ("year", "quarter", "month")
MAX_SPAN_DAYS = 366 * 10  # one answer covers at most ten years

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
    target: Decimal | None = None  # K7 programme rows: the target's figure
    expected: Decimal | None = None  # ... what its path expects by the query's `to`
    progress: Decimal | None = None  # ... achieved / expected
    # Issue 19, K8 rows: what was recovered of defaulted loans (a disposal's claim paid, a
    # risk payment's amount) and the shortfall disposals left after compensation.
    recovered: Decimal | None = None
    shortfall: Decimal | None = None


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
        k8 = r["indicator"] == "K8"
        rows.append(IndicatorRow(r["indicator"], r["period"], r["dimension"], value, r["n"],
                                 r["np"], r["amount"],
                                 recovered=r.get("recovered") if k8 else None,
                                 shortfall=r.get("shortfall") if k8 else None))
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


def query_parameters(low: date, high: date, granularity: str, region: str | None,
                     recipient_kind: str | None, exclude_flagged: bool,
                     known_at: datetime | None, ipc_section: str | None = None,
                     qualification: str | None = None) -> dict[str, Any]:
    """Issue 18 (pools): `ipc_section` keeps deals with a patent of that IPC section (A-H,
    its latest classification), `qualification` deals whose first receiver held it on the
    deal's date; either one answers from the facts, not the rollup."""
    if ipc_section is not None and (len(ipc_section) != 1
                                    or ipc_section not in IPC_SECTIONS):
        raise ValueError(f"ipcSection must be one IPC section letter, {', '.join(IPC_SECTIONS)}")
    if qualification is not None and qualification not in set(Qualification):
        raise ValueError(f"qualification must be one of {', '.join(Qualification)}")
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    if high < low or (high - low).days > MAX_SPAN_DAYS:
        raise ValueError(f"from must not be after to, and the span at most {MAX_SPAN_DAYS} days")
    if region is not None:
        regions.check(region)
    earliest = year_before(low)
    return {"granularity": granularity, "low": earliest, "high": high,
            **regions.parameters(region), "recipient_kind": recipient_kind,
            "exclude_flagged": exclude_flagged, "known_at": known_at or datetime.now(UTC),
            "ipc_section": ipc_section, "qualification": qualification,
            # The pre-aggregated path answers whole periods of the whole ledger, as known now.
            "rollup": (region is None and recipient_kind is None and known_at is None
                       and ipc_section is None and qualification is None
                       and _starts_period(earliest, granularity)
                       and _starts_period(high + timedelta(days=1), granularity))}


def _starts_period(day: date, granularity: str) -> bool:
    if granularity == "month":
        return day.day == 1
    if granularity == "quarter":
        return day.day == 1 and day.month in (1, 4, 7, 10)
    return day.day == 1 and day.month == 1
