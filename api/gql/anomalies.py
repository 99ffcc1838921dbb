"""GraphQL for regulators: anomalies with their evidence and the findings on them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry

from api.gql.context import Ctx
from api.gql.errors import bad_input
from api.gql.events import Event, PageInfo, evidence
from api.gql.oversight import require_oversight
from api.gql.paging import decode_cursor, encode_cursor, page_size
from api.gql.types import Party, Patent, party_by_id
from projections import regions
from projections.queries import ANOMALY_ORDERS, AnomalyFilter, AnomalyRow


@strawberry.type
class Finding:
    decision: str
    note: str
    recorded_at: datetime


@strawberry.type(description="A flag raised by an anomaly rule (AR-n): never a refusal.")
class Anomaly:
    row: strawberry.Private[AnomalyRow]

    @strawberry.field
    def id(self) -> str:
        return self.row.id

    @strawberry.field
    def rule(self) -> str:
        return self.row.rule

    @strawberry.field
    def rule_version(self) -> int:
        return self.row.rule_version

    @strawberry.field
    def score(self) -> float:
        return float(self.row.score)

    @strawberry.field
    def explanation(self) -> str:
        return self.row.explanation

    @strawberry.field(description="open, confirmed or dismissed (a regulator's finding).")
    def status(self) -> str:
        return self.row.status

    @strawberry.field
    def detected_on(self) -> date:
        return self.row.detected_on

    @strawberry.field
    def finding(self) -> Finding | None:
        if self.row.decision is None or self.row.found_at is None:
            return None
        return Finding(decision=self.row.decision, note=self.row.note or "",
                       recorded_at=self.row.found_at)

    @strawberry.field
    async def parties(self, info: Ctx) -> list[Party]:
        return [await party_by_id(info, p) for p in self.row.parties]

    @strawberry.field
    async def patents(self, info: Ctx) -> list[Patent]:
        found = [await Patent.current(info, n) for n in self.row.patents]
        return [p for p in found if p is not None]

    @strawberry.field(description="The events that make the pattern.")
    async def evidence(self, info: Ctx) -> list[Event]:
        return await evidence(info, self.row.evidence)


@strawberry.type
class AnomalyEdge:
    cursor: str
    node: Anomaly


@strawberry.type
class AnomalyConnection:
    edges: list[AnomalyEdge]
    page_info: PageInfo


@strawberry.input
class AnomalyFilterInput:
    rule: str | None = None
    status: str | None = None
    party: str | None = None
    patent: str | None = None
    detected_from: date | None = None
    detected_to: date | None = None
    region: str | None = strawberry.field(
        default=None, description="GB/T 2260 code (its divisions count too) or a region "
        "label: flags with some party there.")


ORDER_DESCRIPTION = ("log (oldest evidence first, the default), newest (newest first) or "
                     "score (highest score first)")


async def anomaly_connection(info: Ctx, where: AnomalyFilterInput | None, first: int | None,
                             after: str | None, order: str = "log") -> AnomalyConnection:
    require_oversight(info, "anomalies")
    if order not in ANOMALY_ORDERS:
        raise bad_input("order", f"must be {ORDER_DESCRIPTION}, not {order!r}")
    size = page_size(first)
    key = _anomaly_key(after, order)
    w = where or AnomalyFilterInput()
    if w.region is not None:
        try:
            regions.check(w.region)
        except ValueError as error:
            raise bad_input("filter.region", str(error)) from None
    rows = await info.context.reads.anomaly_page(
        AnomalyFilter(w.rule, w.status, w.party, w.patent, w.detected_from, w.detected_to,
                      w.region), key, size + 1, order)
    edges = [AnomalyEdge(cursor=_anomaly_cursor(r, order), node=Anomaly(row=r))
             for r in rows[:size]]
    return AnomalyConnection(edges=edges, page_info=PageInfo(
        has_next_page=len(rows) > size, end_cursor=edges[-1].cursor if edges else None))


def _anomaly_cursor(row: AnomalyRow, order: str) -> str:
    if order == "score":
        return encode_cursor(row.score, row.position, row.id)
    return encode_cursor(row.position, row.id)


def _anomaly_key(after: str | None, order: str) -> tuple[Any, ...] | None:
    """The key a cursor names, in the shape of `order`'s keyset (a cursor of another
    order, or none of this list, is refused by name)."""
    cursor = decode_cursor(after, 3 if order == "score" else 2)
    if cursor is None:
        return None
    *score, position, anomaly_id = cursor
    try:
        return (*(Decimal(s) for s in score), int(position), anomaly_id)
    except (ArithmeticError, ValueError):
        raise bad_input("after", f"not a cursor of this list: {after!r}") from None
