"""GraphQL for issue 18 items 3-4 (domain.md s10.3-10.4): `pool(id, asOf)`, and the types
`Patent.pools`, `Patent.ipc` and `Party.qualifications` / `Party.sizeOn` answer with.

Every state is shown on a date (`asOf`, else today) and names the log positions it rests on.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from psycopg import AsyncConnection

from api.gql.context import Ctx
from api.gql.errors import bad_input
from projections import pool_reads
from projections.pool_reads import MAX_POOL_ROWS, Membership

POOL_PAGE = 100  # patents or licences a pool lists unless `first` asks otherwise


def _first(first: int | None) -> int:
    size = POOL_PAGE if first is None else first
    if not 1 <= size <= MAX_POOL_ROWS:
        raise bad_input("first", f"must be 1 to {MAX_POOL_ROWS}")
    return size


@strawberry.type(description="A patent's time in a pool: it entered by `entryDealId` (log "
                             "`position`), from `startsOn` to `lastDay` (null: open).")
class PoolMembership:
    pool_id: str
    number: str
    starts_on: date
    last_day: date | None
    entry_deal_id: str
    position: int
    owners: list[str]
    exit_deal_id: str | None
    exit_position: int | None

    @staticmethod
    def of(m: Membership) -> PoolMembership:
        return PoolMembership(pool_id=m.pool_id, number=m.number, starts_on=m.starts_on,
                              last_day=m.last_day, entry_deal_id=m.entry_deal,
                              position=m.position, owners=list(m.owners),
                              exit_deal_id=m.exit_deal, exit_position=m.exit_position)


@strawberry.type(description="A pool licence: granted by the pool's administrator over "
                             "pooled patents (K2 kind pool).")
class PoolLicence:
    deal_id: str
    licensee: str
    licence_kind: str
    starts_on: date
    ends_on: date
    terminated_on: date | None
    position: int
    patents: list[str]


@strawberry.type(description="A patent pool (专利池, domain.md s10.3), on asOf (else today).")
class Pool:
    id: str
    name: str
    administrator: str = strawberry.field(description="The administrator's party id.")
    field: str = strawberry.field(description="'*': every field. An exclusive licence "
                                              "outside the pool may not overlap it (INV-6).")
    formed_on: date
    position: int
    day: strawberry.Private[date]

    @strawberry.field(description="The patents in the pool on the answer's date, in number "
                                  "order: at most `first` (1 to 1,000, default 100).")
    async def patents(self, info: Ctx, first: int | None = None) -> list[PoolMembership]:
        size = _first(first)

        async def read(conn: AsyncConnection[Any]) -> list[Membership]:
            return await pool_reads.pool_members(conn, self.id, self.day, size)

        return [PoolMembership.of(m) for m in await info.context.reads.run(read)]

    @strawberry.field(description="The pool licences starting by the answer's date, in log "
                                  "order: at most `first` (1 to 1,000, default 100).")
    async def licences(self, info: Ctx, first: int | None = None) -> list[PoolLicence]:
        size = _first(first)

        async def read(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
            return await pool_reads.pool_licences(conn, self.id, self.day, size)

        return [PoolLicence(deal_id=r["deal_id"], licensee=r["licensee"],
                            licence_kind=r["licence_kind"], starts_on=r["starts_on"],
                            ends_on=r["ends_on"], terminated_on=r["terminated_on"],
                            position=r["position"], patents=list(r["patents"]))
                for r in await info.context.reads.run(read)]


async def pool_by_id(info: Ctx, pool_id: str, as_of: date | None) -> Pool | None:
    """The pool as formed by `asOf` (a pool formed later did not exist then)."""
    day = as_of or info.context.today

    async def read(conn: AsyncConnection[Any]) -> dict[str, Any] | None:
        return await pool_reads.pool(conn, pool_id)

    row = await info.context.reads.run(read)
    if row is None or row["formed_on"] > day:
        return None
    return Pool(id=row["pool_id"], name=row["name"], administrator=row["administrator"],
                field=row["field"], formed_on=row["formed_on"], position=row["position"],
                day=day)


async def pools_of_patent(info: Ctx, number: str, day: date) -> list[PoolMembership]:
    """The pools the patent is in on `day`."""
    async def read(conn: AsyncConnection[Any]) -> dict[str, list[Membership]]:
        return await pool_reads.memberships(conn, [number])

    found = (await info.context.reads.run(read)).get(number, [])
    return [PoolMembership.of(m) for m in found if m.in_pool_on(day)]


async def ipc_of_patent(info: Ctx, number: str, day: date) -> list[str]:
    async def read(conn: AsyncConnection[Any]) -> dict[str, list[str]]:
        return await pool_reads.ipc_on(conn, [number], day)

    return (await info.context.reads.run(read)).get(number, [])


@strawberry.type(description="A dated qualification (高新技术企业, 专精特新, ...).")
class PartyQualification:
    qualification: str
    from_: date = strawberry.field(name="from")
    to: date | None
    certificate: str | None
    position: int


async def qualifications_of_party(info: Ctx, party: str, day: date | None
                                  ) -> list[PartyQualification]:
    async def read(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
        return await pool_reads.qualifications_on(conn, party, day)

    return [PartyQualification(qualification=r["qualification"], from_=r["valid_from"],
                               to=r["valid_to"], certificate=r["certificate"],
                               position=r["position"])
            for r in await info.context.reads.run(read)]


async def size_of_party(info: Ctx, party: str, registered: str | None, day: date
                        ) -> str | None:
    async def read(conn: AsyncConnection[Any]) -> str | None:
        return await pool_reads.size_on(conn, party, day)

    changed = await info.context.reads.run(read)
    return registered if changed is None else changed
