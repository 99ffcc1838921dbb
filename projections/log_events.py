"""Reading a few events back from the log inside a projection's own transaction.

The projections keep no whole-log folds (issue 16): when a batch needs an event it no longer
holds (a patent folded again after a backdated deal, the pledge a default names, the deals a
subsidy counts), it reads that event's row from `ledger_events` by position, in one statement
for the whole batch, and decodes it exactly as the store does (`ledger.storage.stored_events`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, StoredEvent

from ledger.law import events as ev
from ledger.storage import stored_events

_MAPPER: Mapper[UUID] = Mapper(transcoder=stored_events.transcoder())
_SELECT = ("SELECT notification_id, originator_id, originator_version, topic, state"
           " FROM ledger_events WHERE notification_id = ANY(%s)")

K = TypeVar("K")
V = TypeVar("V")


class Reads:
    """How many events the projections have read back from the log, and in how many
    statements (tests hold start-up to zero; `/metrics` is not the place: it is per process)."""

    events = 0
    statements = 0


def decode(originator_id: object, originator_version: int, topic: str, state: bytes
           ) -> ev.LedgerEvent:
    """An event from its stored row, with text no reader can carry replaced as the store
    does (ledger/storage/store.py `_to_event`; the row and its hash stay as they are)."""
    data = bytes(state)
    readable = stored_events.readable_state(data)
    stored = StoredEvent(originator_id=originator_id,  # type: ignore[arg-type]
                         originator_version=originator_version, topic=topic,
                         state=data if readable is None else readable)
    event = _MAPPER.to_domain_event(stored)
    assert isinstance(event, ev.LedgerEvent)
    return event


def events_at(cur: psycopg.Cursor, positions: Iterable[int]) -> dict[int, ev.LedgerEvent]:
    """The events at `positions` (one statement), by position."""
    wanted = sorted(set(positions))
    if not wanted:
        return {}
    cur.execute(_SELECT, (wanted,))
    found = {row[0]: decode(*row[1:]) for row in cur.fetchall()}
    Reads.events += len(found)
    Reads.statements += 1
    return found


class Lru(Generic[K, V]):
    """A mapping whose entries weigh at most `size` together (each weighs 1 unless `weigh`
    says more: the patents' caches weigh an estimate of bytes), dropping the least recently
    used after each batch (`trim`), so a projection's memory does not grow with the log. A
    patent's fold or chronology grows with its history: counted as entries, a cache of popular
    patents grew as the log did; bounded in records, caches large enough for a busy day were
    still filling at millions of events, so memory kept growing with the log until then."""

    def __init__(self, size: int, weigh: Callable[[V], int] | None = None) -> None:
        if size < 1:
            raise ValueError("a cache holds at least one entry")
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._weigh = weigh
        self._weights: dict[K, int] = {}
        self.weight = 0  # what the entries weigh, as of their last `put`

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        """Add or refresh an entry, weighed now (put again what a batch changed)."""
        self._items[key] = value
        self._items.move_to_end(key)
        weight = 1 if self._weigh is None else self._weigh(value)
        self.weight += weight - self._weights.get(key, 0)
        self._weights[key] = weight

    def drop(self, key: K) -> None:
        self._items.pop(key, None)
        self.weight -= self._weights.pop(key, 0)

    def trim(self) -> None:
        """Down to `size` (a batch may hold more while it is written: all it touches)."""
        while self.weight > self.size and self._items:
            key, _ = self._items.popitem(last=False)
            self.weight -= self._weights.pop(key, 0)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def clear(self) -> None:
        self._items.clear()
        self._weights.clear()
        self.weight = 0
