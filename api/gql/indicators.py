"""GraphQL for programme evaluators: indicators K1..K10 with growth and target progress."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry

from api.gql.context import Ctx
from api.gql.errors import bad_input
from ledger.law.audiences import may_read_oversight
from projections.indicators import (
    IndicatorRow,
    progress,
    query_parameters,
    rows_from,
    with_growth,
)

FLAGGED_LEFT_OUT = "flagged_left_out"  # K10's dimension: the flagged deals a figure left out


def _number(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@strawberry.type(description="One indicator (K1..K10) for one period and dimension.")
class Indicator:
    indicator: str
    period: date
    dimension: str
    value: str = strawberry.field(description="Events; K8: recovery ratio; K7: achieved.")
    count: int
    patents: int
    amount: str | None = strawberry.field(description="Sum in CNY.")
    yoy_growth: str | None = strawberry.field(description="K7: against a year before.")
    target: str | None
    progress: str | None

    @staticmethod
    def of(row: IndicatorRow) -> Indicator:
        return Indicator(indicator=row.indicator, period=row.period, dimension=row.dimension,
                         value=str(row.value), count=row.count, patents=row.patents,
                         amount=_number(row.amount), yoy_growth=_number(row.yoy_growth),
                         target=_number(row.target), progress=_number(row.progress))


async def indicators(info: Ctx, low: date, high: date, granularity: str, region: str | None,
                     recipient_kind: str | None, exclude_flagged: bool,
                     as_known_at: datetime | None) -> list[Indicator]:
    """Figures for a role that may not read anomalies count flagged deals too: leaving them
    out would let it find the flagged deals by comparing the figures with and without them."""
    oversight = may_read_oversight(info.context.role)
    if not oversight:
        exclude_flagged = False
    try:
        parameters = query_parameters(low, high, granularity, region, recipient_kind,
                                      exclude_flagged, as_known_at)
    except ValueError as error:  # the message starts with the argument it is about
        argument, _, message = str(error).partition(" ")
        raise bad_input(argument, message) from None
    rows = rows_from(await info.context.reads.indicator_rows(parameters))
    if not oversight:  # K10's count of flagged deals is anomaly data too
        rows = [r for r in rows if r.dimension != FLAGGED_LEFT_OUT]
    return [Indicator.of(r) for r in with_growth(rows, low) + progress(
        [r for r in rows if r.period >= low], low, high)]
