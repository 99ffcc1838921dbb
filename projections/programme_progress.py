"""K7 progress of a programme's targets: achieved from the programme's start against the path.

Whatever range a query asks (`from`), a target's achievement counts from the programme's start
to the query's `to` (deals after the programme's end belong to none of its targets), and is
compared with what the target's growth path expects by `to` (`projections/programmes.py`).
It counts within the programme's region, or within a region inside it that the query asks
(a city's contribution to its province's target); a region outside is refused.
A target's rows count what the target names: the query's recipientKind does not narrow them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from projections import regions
from projections.indicators import IndicatorRow
from projections.programme_sql import target_query
from projections.programmes import Programme, counted_until, expected_by

CENT, RATIO = Decimal("0.01"), Decimal("0.0001")


def question(programme: Programme, to: date, region: str | None, exclude_flagged: bool,
             known_at: datetime | None) -> tuple[str, dict[str, Any]] | None:
    """The statement and parameters counting the targets' achievements; None when `to` is
    before the programme's start (nothing can have counted yet). Raises ValueError (its
    message starting with the argument) for a region outside the programme's."""
    counted_in = regions.narrower(programme.region, None if region is None
                                  else regions.check(region))
    if to < programme.starts_on:
        return None
    return target_query(programme), {
        "low": programme.starts_on, "high": counted_until(programme, to),
        **regions.parameters(counted_in), "exclude_flagged": exclude_flagged,
        "known_at": known_at or datetime.now(UTC)}


def progress_rows(programme: Programme, to: date, records: list[dict[str, Any]]
                  ) -> list[IndicatorRow]:
    """A K7 row per target, dated at the programme's start, its dimension `target:<name>`:
    value is the achievement in the target's measure, count, patents and amount what the
    target's deals add up to, target the figure, expected the path by `to`, progress their
    ratio (None while nothing is expected yet)."""
    found = {r["target"]: r for r in records}
    rows = []
    for index, target in enumerate(programme.targets):
        record = found.get(index, {})
        deals, patents = int(record.get("n", 0)), int(record.get("np", 0))
        amount: Decimal | None = record.get("amount")
        achieved = {"count": Decimal(deals), "projects": Decimal(deals),
                    "patents": Decimal(patents), "amount": amount or Decimal(0)}[target.measure]
        expected = expected_by(programme, target, to).quantize(CENT)
        progress = (achieved / expected).quantize(RATIO) if expected else None
        rows.append(IndicatorRow("K7", programme.starts_on, f"target:{target.name}", achieved,
                                 deals, patents, amount, target=target.figure,
                                 expected=expected, progress=progress))
    return rows
