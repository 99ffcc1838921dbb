"""The hash chain: every stored event linked by SHA-256 to the one before it in log order.

    link(n) = SHA-256( link(n-1) || u64 position || 16-byte originator id || u32 version
                       || u32 len || topic (UTF-8) || u32 len || state )

with link(0) = 32 zero bytes, integers big-endian. The state is the stored JSON bytes exactly
as the event table holds them, so anyone can recompute a link from a row with nothing but
SHA-256. Changing, deleting or reordering a stored row changes every link from it on; the
first link that no longer matches names the first event tampered with. (Cutting the log's tail
needs a signed checkpoint of the head to show: that is the next step.)
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from uuid import UUID

GENESIS = bytes(32)


_HEAD = struct.Struct(">QQQII")  # position, the id's two halves, version, len(topic)
_LENGTH = struct.Struct(">I")
_LOW_64 = (1 << 64) - 1


def link(previous: bytes, position: int, originator_id: UUID, version: int, topic: str,
         state: bytes) -> bytes:
    """The link of one stored event, given the link before it."""
    topic_bytes = topic.encode()
    big = originator_id.int  # the 16 id bytes, big-endian, without UUID.bytes' conversion
    return hashlib.sha256(b"".join((
        previous, _HEAD.pack(position, big >> 64, big & _LOW_64, version, len(topic_bytes)),
        topic_bytes, _LENGTH.pack(len(state)), state))).digest()


def links(previous: bytes, rows: Iterable[tuple[int, UUID, int, str, bytes]]
          ) -> Iterator[tuple[int, bytes]]:
    """(position, link) for stored rows in log order, continuing from `previous`."""
    for position, originator_id, version, topic, state in rows:
        previous = link(previous, position, originator_id, version, topic, state)
        yield position, previous


@dataclass(frozen=True, slots=True)
class Break:
    """The first place where the log and its chain disagree."""

    position: int
    problem: str


def first_break(rows: Iterable[tuple[int | None, UUID | None, int | None, str | None,
                                     bytes | None, int | None, bytes | None]]) -> Break | None:
    """Walk the log beside its chain (a full join in position order: event columns, then the
    chain's position and hash) and name the first disagreement; None when all links hold.
    Events after the chain's last link are the tail not yet linked, and no break."""
    previous = GENESIS
    chain_ended = False
    for position, originator_id, version, topic, state, chained_at, stored in rows:
        if position is None:
            assert chained_at is not None
            return Break(chained_at, "a linked event is missing from the log (deleted)")
        if stored is None:
            chain_ended = True
            continue
        if chain_ended:
            return Break(position, "an event without a link precedes linked ones (inserted)")
        assert originator_id is not None and version is not None and topic is not None \
            and state is not None
        previous = link(previous, position, originator_id, version, topic, state)
        if previous != stored:
            return Break(position, "the stored event does not match its link: it was changed "
                                   "or moved, or the link before it was forged")
    return None
