"""One event's inclusion proof against the latest signed checkpoint.

The proof is everything an auditor needs to check, offline, that this event is in the log the
checkpoint signed: the stored event (its exact bytes), the link before it, its place among the
leaves, the sibling hashes up to the root, and the signed checkpoint. Recompute the link,
climb the path, compare with the signed root, check the signature (`verify_bundle.py --proof`
does all four). About log2(n) hashes: 20 for a million events.

Reads at most two runs of 256 links and one row per stored subtree on the path, whatever the
log's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from ledger.integrity import merkle
from ledger.integrity.chain import GENESIS
from ledger.integrity.checkpoints import CHECKPOINT_COLUMNS, Checkpoint, checkpoint_from_row


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """The event's row exactly as the log stores it: what its link is computed over."""

    originator_id: UUID
    version: int
    topic: str
    state: bytes


@dataclass(frozen=True, slots=True)
class InclusionProof:
    position: int
    stored: StoredEvent
    previous_link: bytes
    link: bytes
    leaf_index: int
    path: list[bytes]  # sibling hashes from the leaf up
    checkpoint: Checkpoint


class _Leaves:
    """Links by leaf index, for the few runs of them a proof reads."""

    def __init__(self) -> None:
        self._by_index: dict[int, bytes] = {}

    def add(self, first_index: int, links: list[bytes]) -> None:
        self._by_index.update(enumerate(links, first_index))

    def root(self, first: int, count: int) -> bytes:
        return merkle.merkle_root(self._by_index[i] for i in range(first, first + count))


async def _links_after(conn: AsyncConnection[Any], after: int, limit: int
                       ) -> list[tuple[int, bytes]]:
    cur = await conn.execute("SELECT position, hash FROM ledger_chain WHERE position > %s "
                             "ORDER BY position LIMIT %s", (after, limit))
    return [(int(p), bytes(h)) for p, h in await cur.fetchall()]


async def _block_start(conn: AsyncConnection[Any], position: int) -> tuple[int, int]:
    """(first leaf index of the block holding `position`, the position before that block)."""
    cur = await conn.execute("SELECT idx, last_position FROM ledger_merkle WHERE level = %s "
                             "AND last_position < %s ORDER BY last_position DESC LIMIT 1",
                             (merkle.BLOCK_LEVEL, position))
    row = await cur.fetchone()
    return (0, 0) if row is None else ((int(row[0]) + 1) << merkle.BLOCK_LEVEL, int(row[1]))


async def inclusion_proof(conn: AsyncConnection[Any], position: int) -> InclusionProof | None:
    """The proof for the event at `position`; None when no checkpoint covers it yet."""
    cur = await conn.execute(f"SELECT {CHECKPOINT_COLUMNS} FROM ledger_checkpoints "
                             "ORDER BY position DESC LIMIT 1")
    row = await cur.fetchone()
    if row is None or position > row[0]:
        return None
    checkpoint = checkpoint_from_row(row)
    width = 1 << merkle.BLOCK_LEVEL
    leaves = _Leaves()
    first, after = await _block_start(conn, position)
    block = await _links_after(conn, after, min(width, checkpoint.tree_size - first))
    offset = next((i for i, (p, _) in enumerate(block) if p == position), None)
    if offset is None:
        return None  # no link at that position: not an event of the log
    leaves.add(first, [h for _, h in block])
    tail_first = (checkpoint.tree_size >> merkle.BLOCK_LEVEL) << merkle.BLOCK_LEVEL
    if tail_first != checkpoint.tree_size and tail_first != first:
        _, tail_after = await _block_start(conn, checkpoint.position)
        tail = await _links_after(conn, tail_after, checkpoint.tree_size - tail_first)
        leaves.add(tail_first, [h for _, h in tail])
    index = first + offset
    path = await _path(conn, index, checkpoint.tree_size, leaves)
    stored = await _stored(conn, position)
    if stored is None:
        return None  # linked but gone from the log: `patent-ledger verify` names it
    before = await _links_before(conn, position)
    return InclusionProof(position, stored, before, block[offset][1], index, path, checkpoint)


async def _path(conn: AsyncConnection[Any], index: int, size: int, leaves: _Leaves
                ) -> list[bytes]:
    """The sibling hashes, reading every stored subtree they need in one query."""
    wanted: set[tuple[int, int]] = set()

    def note(level: int, idx: int) -> bytes:
        if level >= merkle.BLOCK_LEVEL:
            wanted.add((level, idx))
        return b""

    merkle.inclusion_path(index, size, note)
    stored: dict[tuple[int, int], bytes] = {}
    if wanted:
        levels, idxs = zip(*sorted(wanted), strict=True)
        cur = await conn.execute(
            "SELECT level, idx, hash FROM ledger_merkle WHERE (level, idx) IN "
            "(SELECT * FROM unnest(%s::smallint[], %s::bigint[]))", (list(levels), list(idxs)))
        stored = {(int(lv), int(ix)): bytes(h) for lv, ix, h in await cur.fetchall()}

    def complete(level: int, idx: int) -> bytes:
        if level >= merkle.BLOCK_LEVEL:
            return stored[(level, idx)]
        return leaves.root(idx << level, 1 << level)

    return merkle.inclusion_path(index, size, complete)


async def _stored(conn: AsyncConnection[Any], position: int) -> StoredEvent | None:
    cur = await conn.execute("SELECT originator_id, originator_version, topic, state "
                             "FROM ledger_events WHERE notification_id = %s", (position,))
    row = await cur.fetchone()
    return None if row is None else StoredEvent(row[0], row[1], row[2], bytes(row[3]))


async def _links_before(conn: AsyncConnection[Any], position: int) -> bytes:
    cur = await conn.execute("SELECT hash FROM ledger_chain WHERE position < %s "
                             "ORDER BY position DESC LIMIT 1", (position,))
    row = await cur.fetchone()
    return GENESIS if row is None else bytes(row[0])
