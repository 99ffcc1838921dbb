"""GraphQL for programme evaluators: indicators K1..K10 with growth, programmes and progress."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry

from api.gql.context import Ctx
from api.gql.errors import bad_input
from ledger.law.audiences import may_read_oversight
from projections import programmes as configured
from projections import regions
from projections.conversion_reads import k12_records  # issue 18 (outcomes)
from projections.indicators import (
    IndicatorRow,
    query_parameters,
    rows_from,
    with_growth,
)
from projections.product_sql import k12_rows  # issue 18 (outcomes)
from projections.programme_progress import progress_rows, question

FLAGGED_LEFT_OUT = "flagged_left_out"  # K10's dimension: the flagged deals a figure left out


def _number(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@strawberry.type(description="One indicator (K1..K12) for one period and dimension.")
class Indicator:
    indicator: str
    period: date
    dimension: str
    value: str = strawberry.field(description="Events; K8: recovery ratio; K7 target rows: "
                                              "achieved in the target's measure; K12: "
                                              "products filed, output value (CNY) or "
                                              "employees.")
    count: int
    patents: int
    amount: str | None = strawberry.field(description="Sum in CNY.")
    yoy_growth: str | None = strawberry.field(description="K7: against a year before.")
    target: str | None = strawberry.field(description="K7 target rows (a programme asked): "
                                                      "the target's figure.")
    expected: str | None = strawberry.field(description="K7 target rows: what the target's "
                                                        "growth path expects by `to`.")
    progress: str | None = strawberry.field(description="K7 target rows: value / expected, "
                                                        "counted from the programme's start.")
    ipc_section: str | None = strawberry.field(default=None, description="The IPC section "
                                               "the row counts (asked), else null.")
    qualification: str | None = strawberry.field(default=None, description="The receivers' "
                                                 "qualification the row counts (asked).")
    recovered: str | None = strawberry.field(
        default=None, description="K8 (issue 19): recovered of defaulted loans: claims paid "
        "by disposal proceeds, or risk-sharing payments (dimension source:<kind>).")
    shortfall: str | None = strawberry.field(
        default=None, description="K8 (issue 19): the claims disposals left unpaid after "
        "proceeds and compensation.")

    @staticmethod
    def of(row: IndicatorRow, ipc_section: str | None = None,
           qualification: str | None = None) -> Indicator:
        return Indicator(indicator=row.indicator, period=row.period, dimension=row.dimension,
                         value=str(row.value), count=row.count, patents=row.patents,
                         amount=_number(row.amount), yoy_growth=_number(row.yoy_growth),
                         target=_number(row.target), expected=_number(row.expected),
                         progress=_number(row.progress), ipc_section=ipc_section,
                         qualification=qualification, recovered=_number(row.recovered),
                         shortfall=_number(row.shortfall))


@strawberry.type(description="A programme's target (config/programmes.toml).")
class ProgrammeTarget:
    name: str
    basis: str = strawberry.field(description="The policy document's own words.")
    indicator: str
    measure: str = strawberry.field(description="count, patents, amount or projects.")
    region_party: str = strawberry.field(description="Whose region counts: receiver, giver "
                                                     "or pledgor.")
    cumulative: bool = strawberry.field(description="Over the whole programme, else a year.")
    figure: str
    growth: str = strawberry.field(description="Yearly growth the path follows (0.2: 20 %).")
    growth_measures: list[str] = strawberry.field(description="Measures the document asks "
                                                              "to grow.")

    @staticmethod
    def of(target: configured.Target) -> ProgrammeTarget:
        return ProgrammeTarget(name=target.name, basis=target.basis, indicator=target.indicator,
                               measure=target.measure, region_party=target.region_party,
                               cumulative=target.cumulative, figure=str(target.figure),
                               growth=str(target.growth),
                               growth_measures=list(target.growth_measures))


@strawberry.type(description="A programme: a policy document's targets for a region and "
                             "a period.")
class Programme:
    id: str = strawberry.field(description="What indicators(programme:) is given (its name "
                                           "or document number work too).")
    name: str
    document: str
    authority: str
    region: str = strawberry.field(description="GB/T 2260 code; its divisions count too.")
    starts_on: date
    ends_on: date
    targets: list[ProgrammeTarget]

    @staticmethod
    def of(programme: configured.Programme) -> Programme:
        return Programme(id=programme.id, name=programme.name, document=programme.document,
                         authority=programme.authority, region=programme.region,
                         starts_on=programme.starts_on, ends_on=programme.ends_on,
                         targets=[ProgrammeTarget.of(t) for t in programme.targets])


def programme_list(region: str | None) -> list[Programme]:
    """The configured programmes; with `region`, those whose targets apply there (a
    programme of the region or of a region around it)."""
    if region is not None:
        try:
            regions.check(region)
        except ValueError as error:
            raise bad_input("region", str(error).partition(" ")[2]) from None
    return [Programme.of(p) for p in configured.programmes()
            if region is None or regions.contains(p.region, region)]


async def indicators(info: Ctx, low: date, high: date, granularity: str, region: str | None,
                     recipient_kind: str | None, exclude_flagged: bool,
                     as_known_at: datetime | None, programme: str | None = None,
                     ipc_section: str | None = None, qualification: str | None = None,
                     ) -> list[Indicator]:
    """Figures for a role that may not read anomalies count flagged deals too: leaving them
    out would let it find the flagged deals by comparing the figures with and without them.
    With a programme, the region defaults to the programme's, and K7 rows give each
    target's progress (projections/programme_progress.py)."""
    oversight = may_read_oversight(info.context.role)
    if not oversight:
        exclude_flagged = False
    try:
        chosen = None if programme is None else configured.find(programme)
        asked_region = region if chosen is None or region is not None else chosen.region
        parameters = query_parameters(low, high, granularity, asked_region, recipient_kind,
                                      exclude_flagged, as_known_at, ipc_section, qualification)
        progress = None if chosen is None else question(chosen, high, region, exclude_flagged,
                                                        as_known_at)
    except ValueError as error:  # the message starts with the argument it is about
        argument, _, message = str(error).partition(" ")
        raise bad_input(argument, message) from None
    rows = rows_from(await info.context.reads.indicator_rows(parameters))
    rows += k12_rows(await k12_records(info.context.reads, parameters))  # issue 18: K12
    if not oversight:  # K10's count of flagged deals is anomaly data too
        rows = [r for r in rows if r.dimension != FLAGGED_LEFT_OUT]
    answer = with_growth(rows, low)
    if chosen is not None:
        achieved = [] if progress is None else await info.context.reads.target_rows(*progress)
        answer += progress_rows(chosen, high, achieved)
    return [Indicator.of(r, ipc_section, qualification) for r in answer]
