"""The event log in GraphQL: events, their pages and filters, and each event's evidence of
integrity (its link in the hash chain and its inclusion proof, api/gql/proofs.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime

import strawberry
from strawberry.scalars import JSON

from api import visibility
from api.gql.context import Ctx
from api.gql.errors import bad_input
from api.gql.paging import encode_cursor, page_size, position_cursor
from api.gql.proofs import EventProof
from ledger.integrity.proofs import inclusion_proof
from projections.event_facts import CLASS_OF_KIND
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
        if visibility.proof_withheld(info.context.role, self.kind):
            return None  # its stored bytes hold members withheld from this role
        position = self.position
        found = await info.context.reads.run(lambda conn: inclusion_proof(conn, position))
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
    agency: str | None = strawberry.field(
        default=None, description="Issue 19: deals naming this party as their agency.")

    def to_filter(self) -> EventFilter:
        return EventFilter(self.patent, self.party, self.deal_id, tuple(self.kinds or ()),
                           self.effective_from, self.effective_to, self.recorded_from,
                           self.recorded_to, agency=self.agency)


def readable_filter(info: Ctx, where: EventFilter) -> EventFilter | None:
    """`where`, narrowed to the kinds the caller's role may read (ledger/law/audiences.py), so
    the SQL leaves the others out and pages stay full; None when nothing could match. A kind
    the ledger does not know is a typing error (BAD_USER_INPUT); one the role may not read
    matches nothing, as if no such event had been recorded."""
    unknown = [k for k in where.kinds if k not in CLASS_OF_KIND]
    if unknown:
        raise bad_input("kinds", f"no event kind is called {unknown[0]!r}; the kinds are "
                        + ", ".join(sorted(CLASS_OF_KIND)))
    allowed = visibility.kind_names(info.context.role)
    if allowed is None:
        return where
    kinds = tuple(k for k in where.kinds if k in allowed) if where.kinds else allowed
    return dataclasses.replace(where, kinds=kinds) if kinds else None


def shown(info: Ctx, records: Iterable[EventRecord | None]) -> list[EventRecord]:
    """The records the caller's role may read, as it may read them: every event answer of
    GraphQL passes here (events, history, deal, evidence)."""
    role = info.context.role
    return [seen for r in records
            if r is not None and (seen := visibility.shown_record(role, r)) is not None]


async def readable_events(info: Ctx, where: EventFilter, after: int, first: int
                          ) -> list[EventRecord]:
    narrowed = readable_filter(info, where)
    if narrowed is None:
        return []
    return shown(info, await info.context.reads.event_page(narrowed, after, first))


async def event_connection(info: Ctx, where: EventFilter, first: int | None,
                           after: str | None) -> EventConnection:
    size = page_size(first)
    records = await readable_events(info, where, position_cursor(after), size + 1)
    edges = [EventEdge.of(r) for r in records[:size]]
    return EventConnection(edges=edges, page_info=PageInfo(
        has_next_page=len(records) > size, end_cursor=edges[-1].cursor if edges else None))


async def evidence(info: Ctx, positions: tuple[int, ...]) -> list[Event]:
    records = await info.context.loaders.event.load_many(list(positions))
    return [Event.of(r) for r in shown(info, records)]
