"""What every resolver of one request shares: the caller's role, the read models, DataLoaders.

Loaders are made per request (their cache must not outlive it); each turns the lookups of a
whole page into one query per kind of row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from strawberry.extensions import SchemaExtension
from strawberry.fastapi import BaseContext
from strawberry.types import Info

from api.read_replicas import PRIMARY, ReadRouter, Served
from projections import conversion_reads  # issue 18 (outcomes)
from projections.licence_pages import LicenceCount, LicencePage
from projections.patent_view import LicenceView, OpenLicenceView, OwnerView, PledgeView
from projections.queries import CreditInputs, EventRecord, PartyRow, PatentHead, ReadModels

K = TypeVar("K")


def _loader(fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, Any]]], default: Any = None
            ) -> DataLoader[K, Any]:
    """One query for all the keys a page asked for; a missing key gets `default`."""

    async def load(keys: list[K]) -> list[Any]:
        found = await fetch(keys)
        return [found.get(key, default() if callable(default) else default) for key in keys]

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self, reads: ReadModels) -> None:
        self.patent: DataLoader[str, PatentHead | None] = _loader(reads.patents)
        self.owners: DataLoader[str, list[OwnerView]] = _loader(reads.owners, list)
        self.licences: DataLoader[LicencePage, list[LicenceView]] = _loader(
            reads.licence_pages, list)
        self.licence_count: DataLoader[LicenceCount, int] = _loader(reads.licence_counts, int)
        self.open_licence: DataLoader[str, OpenLicenceView | None] = _loader(reads.open_licences)
        self.pledges: DataLoader[str, list[PledgeView]] = _loader(reads.pledges, list)
        self.party: DataLoader[str, PartyRow | None] = _loader(reads.parties)
        self.holdings: DataLoader[str, list[tuple[str, Any]]] = _loader(reads.holdings, list)
        self.event: DataLoader[int, EventRecord | None] = _loader(reads.events)
        self.credit: DataLoader[str, CreditInputs] = _loader(reads.credit_inputs)
        self.link: DataLoader[int, bytes | None] = _loader(reads.links)
        # issue 18 (outcomes): a patent's conversions; products by id, owner or patent
        self.conversions: DataLoader[conversion_reads.ConversionKey, list[Any]] = _loader(
            partial(conversion_reads.conversions_for, reads), list)
        self.products: DataLoader[conversion_reads.ProductKey, list[Any]] = _loader(
            partial(conversion_reads.products_for, reads), list)


class Context(BaseContext):
    def __init__(self, reads: ReadModels, role: str | None, served: Served | None = None,
                 router: ReadRouter | None = None) -> None:
        super().__init__()
        self.reads = reads
        self.role = role
        self._loaders: Loaders | None = None
        self.today: date = datetime.now(UTC).date()
        self.served = served or Served(reads, PRIMARY)  # issue 21: which server answers
        self.router = router

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.reads)
        return self._loaders

    def release(self) -> None:
        """Let go of every row the loaders fetched: the answer is complete (`Released`)."""
        self._loaders = None

    async def replica_lag(self, position: int) -> int:
        """`ledger { replicaLag }`: events the primary holds past `position`; 0 on the primary."""
        if self.router is None:
            return 0
        return await self.router.replica_lag(self.served, position)


Ctx = Info[Context, None]


class Released(SchemaExtension):
    """Frees what a request loaded as soon as its answer is complete.

    graphql-core's execution context refers to itself (its resolvers' helpers are its own
    bound methods), so it, the request's Context, and through the loaders every row fetched,
    can be freed only by the cyclic collector. A `patent` answer leaves some 800 such objects
    (a hundred licences, their licensees, the futures that carried them); at the collector's
    next pass over its middle generation, freeing the last few dozen answers' worth stopped
    whichever answer was being built for 6 to 10 ms (measured in `serve` after the scale
    benchmark's writes; about a millisecond of the `patent` p99 in an A/B, BENCHMARKS.md
    `scale`). Dropping the loaders when execution ends lets reference counting free the rows
    at once, and the collector finds a few small objects per request."""

    def on_execute(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, Context):
            context.release()
