"""The event log in GraphQL: events, their pages and filters, and each event's evidence of
integrity (its link in the hash chain and its inclusion proof, api/gql/proofs.py)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.scalars import JSON

from api.gql.context import Ctx
from api.gql.paging import encode_cursor, page_size, position_cursor
from api.gql.proofs import EventProof
from projections.queries import EventFilter, EventRecord


@strawberry.type(description="One stored event: the evidence behind every answer.")
class Event:
    position: int
    deal_id: str | None
    kind: str
    effective_on: date
    recorded_at: datetime
    patents: list[str]
    parties: list[str]
    payload: JSON

    @staticmethod
    def of(record: EventRecord) -> Event:
        return Event(position=record.position, deal_id=record.deal_id, kind=record.kind,
                     effective_on=record.effective_on, recorded_at=record.recorded_at,
                     patents=list(record.patents), parties=list(record.parties),
                     payload=JSON(record.payload))

    @strawberry.field(description="The event's SHA-256 link in the hash chain, hex: over the "
                      "stored event and the link before it. Null until the writer links it.")
    async def hash(self, info: Ctx) -> str | None:
        link = await info.context.loaders.link.load(self.position)
        return None if link is None else link.hex()

    @strawberry.field(description="Proof that this event is in the log the latest signed "
                      "checkpoint vouches for, checkable offline (verify_bundle.py --proof). "
                      "Null until a checkpoint covers the event.")
    async def proof(self, info: Ctx) -> EventProof | None:
        found = await info.context.reads.inclusion_proof(self.position)
        return None if found is None else EventProof.of(found)


@strawberry.type(description="An edge: its event's fields flattened, and the event as `node`.")
class EventEdge(Event):
    cursor: str
    node: Event

    @staticmethod
    def of(record: EventRecord) -> EventEdge:
        event = Event.of(record)
        return EventEdge(cursor=encode_cursor(record.position), node=event,
                         **{name: getattr(event, name) for name in _EVENT_FIELDS})


_EVENT_FIELDS = ("position", "deal_id", "kind", "effective_on", "recorded_at", "patents",
                 "parties", "payload")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class EventConnection:
    edges: list[EventEdge]
    page_info: PageInfo


@strawberry.input
class EventFilterInput:
    patent: str | None = None
    party: str | None = None
    deal_id: str | None = None
    kinds: list[str] | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None

    def to_filter(self) -> EventFilter:
        return EventFilter(self.patent, self.party, self.deal_id, tuple(self.kinds or ()),
                           self.effective_from, self.effective_to, self.recorded_from,
                           self.recorded_to)


async def event_connection(info: Ctx, where: EventFilter, first: int | None,
                           after: str | None) -> EventConnection:
    size = page_size(first)
    records = await info.context.reads.event_page(where, position_cursor(after), size + 1)
    edges = [EventEdge.of(r) for r in records[:size]]
    return EventConnection(edges=edges, page_info=PageInfo(
        has_next_page=len(records) > size, end_cursor=edges[-1].cursor if edges else None))


async def evidence(info: Ctx, positions: tuple[int, ...]) -> list[Event]:
    records = await info.context.loaders.event.load_many(list(positions))
    return [Event.of(r) for r in records if r is not None]
