"""Reading the "pools" projection (projections/pools.py): a pool, its patents and licences on
a date, the pools a patent is in, a patent's IPC symbols and a party's qualifications and
size on a date. Each read takes an open async connection, so the GraphQL API runs it on its
read pool (`ReadModels.run`) and other read models (conversion outcomes: `pooled`, 已参与专利池运营)
can call `memberships` for the pool membership of any patents, with dates and evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

MAX_POOL_ROWS = 1_000  # patents or licences one pool answer lists (README limits)


@dataclass(frozen=True, slots=True)
class Membership:
    """A patent's time in a pool: from `starts_on` to `last_day` (None: open), entered by
    `entry_deal` at log position `position` (the evidence)."""

    pool_id: str
    number: str
    starts_on: date
    last_day: date | None
    entry_deal: str
    position: int
    owners: tuple[str, ...]
    exit_deal: str | None
    exit_position: int | None

    def in_pool_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.last_day is None or day <= self.last_day)


# The last day in the pool: the entry's end, or the day before the exit, whichever is first.
_MEMBER = """SELECT pool_id, number, starts_on,
       LEAST(ends_on, exited_on - 1) AS last_day, entry_deal, position, owners,
       exit_deal, exit_position
FROM rm_pool_members"""

# What conversion outcomes need (category `pooled`): every membership of these patents, by
# date; a read model may join it in SQL too (the patents' column is `number`).
MEMBERSHIP_SQL = _MEMBER + " WHERE number = ANY(%s) ORDER BY number, starts_on, position"


async def _rows(conn: AsyncConnection[Any], query: str, params: Any) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


def _membership(row: dict[str, Any]) -> Membership:
    return Membership(row["pool_id"], row["number"], row["starts_on"], row["last_day"],
                      row["entry_deal"], row["position"], tuple(row["owners"]),
                      row["exit_deal"], row["exit_position"])


async def memberships(conn: AsyncConnection[Any], numbers: Sequence[str]
                      ) -> dict[str, list[Membership]]:
    """Every pool membership of `numbers` (past, present and future), by patent and date."""
    found: dict[str, list[Membership]] = defaultdict(list)
    for row in await _rows(conn, MEMBERSHIP_SQL, (list(numbers),)):
        found[row["number"]].append(_membership(row))
    return dict(found)


async def pool(conn: AsyncConnection[Any], pool_id: str) -> dict[str, Any] | None:
    rows = await _rows(conn, "SELECT * FROM rm_pools WHERE pool_id = %s", (pool_id,))
    return rows[0] if rows else None


async def pool_members(conn: AsyncConnection[Any], pool_id: str, day: date, first: int
                       ) -> list[Membership]:
    """The patents in the pool on `day` (entered by then, not yet out), in number order."""
    rows = await _rows(conn, _MEMBER + " WHERE pool_id = %s AND starts_on <= %s "
                       "AND coalesce(LEAST(ends_on, exited_on - 1), 'infinity') >= %s "
                       "ORDER BY number, starts_on LIMIT %s", (pool_id, day, day, first))
    return [_membership(r) for r in rows]


async def pool_licences(conn: AsyncConnection[Any], pool_id: str, day: date, first: int
                        ) -> list[dict[str, Any]]:
    """The pool's licences granted by `day` (starting by then), each with its patents."""
    return await _rows(conn, """
        SELECT deal_id, licensee, licence_kind, starts_on, ends_on, terminated_on, position,
               array_agg(number ORDER BY number) AS patents
        FROM rm_pool_licences WHERE pool_id = %s AND starts_on <= %s
        GROUP BY deal_id, licensee, licence_kind, starts_on, ends_on, terminated_on, position
        ORDER BY position LIMIT %s""", (pool_id, day, first))


async def ipc_on(conn: AsyncConnection[Any], numbers: Sequence[str], day: date
                 ) -> dict[str, list[str]]:
    """Each patent's IPC symbols on `day`: its latest classification effective by then."""
    rows = await _rows(conn, """
        SELECT DISTINCT ON (number) number, ipc FROM rm_patent_ipc
        WHERE number = ANY(%s) AND effective_on <= %s
        ORDER BY number, effective_on DESC, position DESC""", (list(numbers), day))
    return {r["number"]: list(r["ipc"]) for r in rows}


async def qualifications_on(conn: AsyncConnection[Any], party: str, day: date | None
                            ) -> list[dict[str, Any]]:
    """The party's qualifications (in force on `day`; None: every one recorded)."""
    return await _rows(conn, """
        SELECT qualification, valid_from, valid_to, certificate, position
        FROM rm_party_qualifications WHERE party = %s
          AND (%s::date IS NULL OR (valid_from <= %s AND coalesce(valid_to, 'infinity') >= %s))
        ORDER BY valid_from, qualification LIMIT 1000""", (party, day, day, day))


async def size_on(conn: AsyncConnection[Any], party: str, day: date) -> str | None:
    """The party's size from its latest size change effective by `day` (None: no change)."""
    rows = await _rows(conn, "SELECT size FROM rm_party_sizes WHERE party = %s AND "
                       "effective_on <= %s ORDER BY effective_on DESC LIMIT 1", (party, day))
    return rows[0]["size"] if rows else None
