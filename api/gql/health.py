"""`ledger { checkpoint verification }`: what the console's ledger health page shows beside
the head and the projections' lag (issue 20)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry
from psycopg import AsyncConnection

from api.gql.proofs import SignedCheckpoint
from ledger.integrity.checkpoints import CHECKPOINT_COLUMNS, checkpoint_from_row
from ledger.integrity.verifications import LATEST_SQL


@strawberry.type(description="The latest run of `patent-ledger verify`: whether the hash "
                 "chain and every signed checkpoint held, and the first problem if not.")
class Verification:
    verified_at: datetime
    holds: bool
    events: int
    linked: int
    problem: str | None


async def latest_checkpoint(conn: AsyncConnection[Any]) -> SignedCheckpoint | None:
    cur = await conn.execute(f"SELECT {CHECKPOINT_COLUMNS} FROM ledger_checkpoints"
                             " ORDER BY position DESC LIMIT 1")
    row = await cur.fetchone()
    return None if row is None else SignedCheckpoint.of(checkpoint_from_row(tuple(row)))


async def latest_verification(conn: AsyncConnection[Any]) -> Verification | None:
    cur = await conn.execute(LATEST_SQL)
    row = await cur.fetchone()
    if row is None:
        return None
    verified_at, holds, events, linked, problem = tuple(row)
    return Verification(verified_at=verified_at.astimezone(UTC), holds=holds,
                        events=int(events), linked=int(linked), problem=problem)
