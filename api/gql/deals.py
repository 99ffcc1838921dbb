"""A deal as GraphQL shows it: the event that recorded it, with its patents and parties.

Above types.py (it names patents and parties; none of them names a deal).
"""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.scalars import JSON

from api.gql.context import Ctx
from api.gql.events import Event
from api.gql.intermediaries import Intermediary, intermediaries_of
from api.gql.types import Party, Patent, party_by_id
from projections.queries import EventRecord


@strawberry.type
class Deal:
    record: strawberry.Private[EventRecord]

    @strawberry.field
    def deal_id(self) -> str:
        return self.record.deal_id or ""

    @strawberry.field
    def kind(self) -> str:
        return self.record.kind

    @strawberry.field
    def position(self) -> int:
        return self.record.position

    @strawberry.field
    def effective_on(self) -> date:
        return self.record.effective_on

    @strawberry.field
    def signed_on(self) -> date | None:
        signed = self.record.payload.get("signed_on")
        return None if signed is None else date.fromisoformat(signed)

    @strawberry.field
    def recorded_at(self) -> datetime:
        return self.record.recorded_at

    @strawberry.field
    async def patents(self, info: Ctx) -> list[Patent]:
        found = [await Patent.current(info, n) for n in self.record.patents]
        return [p for p in found if p is not None]

    @strawberry.field
    async def parties(self, info: Ctx) -> list[Party]:
        return [await party_by_id(info, p) for p in self.record.parties]

    @strawberry.field
    def payload(self) -> JSON:
        return JSON(self.record.payload)

    @strawberry.field
    def event(self) -> Event:
        return Event.of(self.record)

    @strawberry.field(description="Issue 19: the agency, platform and technology manager "
                      "that arranged the deal, with their abnormal-operations listings in "
                      "force on `asOf` (else today).")
    async def intermediaries(self, info: Ctx, as_of: date | None = None
                             ) -> list[Intermediary]:
        return await intermediaries_of(info, self.record, as_of or info.context.today)
