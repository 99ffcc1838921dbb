"""Patents' state beside their events (migrations/016_patent_snapshots.sql).

The writer's cache lets a patent go when it is full; before this table, the next deal on that
patent loaded and decoded the patent's whole history, one event row at a time. The writer now
writes the state it held at that moment, and loading the patent again costs one row plus the
events filed after it (usually none: this writer stored them all).

A snapshot is only ever an optimisation over the events, so it is written outside the path of
any answer: with the writer's next group, in that group's transaction. It is ignored whenever
it could be wrong:
- `form` is a digest of the source that defines and folds a patent's state; a snapshot taken
  by other code (an upgrade, a downgrade) is not read, and the events are loaded instead;
- an event filed after the snapshot but dated before the state's latest event (backdated)
  cannot be folded on top of it: the patent is loaded whole.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from psycopg import Cursor

from ledger.law import events as ev
from ledger.law import patent_state as ps
from ledger.law.values import Money

SNAPSHOT_AFTER = 4  # events folded since the last snapshot before a departing patent gets one
REFRESH_AFTER = 256  # events a patent the cache keeps folds before its snapshot is taken again
MAX_PENDING = 20_000  # snapshots waiting for the next group; beyond it they are dropped
SHAREABLE = (str, date, tuple, frozenset, Decimal, Money)  # immutable: equal ones interchangeable


def _form() -> str:
    """What a snapshot's state means: the law's state and fold, and the events they read."""
    digest = hashlib.sha256()
    for module in (ps, ev):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:32]


FORM = _form()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One patent's state with every event filed for it up to `position` folded in."""

    number: str
    position: int
    version: int  # the patent stream's version at `position` (0: not known)
    registered: ev.PatentRegistered
    state: ps.PatentState
    latest: tuple[date, int] | None  # the (effective date, sequence) of its latest event


def share_values(state: ps.PatentState) -> None:
    """Make a state's records hold one object for each distinct value (a party id, a kind,
    a day, a scope): decoded from events, or from a pickle, every record holds copies of its
    own. A popular patent's thousands of licences then weigh about a third (1.2 KB a record
    at 3,000,000 events, 0.3 KB shared), and since pickle writes a shared object once, a
    snapshot taken of them loads shared too. Equal immutable values are interchangeable, so
    the state means what it meant; keyed by type as well, since True == 1 == Decimal(1)."""
    seen: dict[tuple[type, object], object] = {}
    for record in (*state.licences.values(), *state.pledges.values(), *state.pools.values()):
        for name in record.__slots__:  # type: ignore[attr-defined]
            value = getattr(record, name)
            if isinstance(value, SHAREABLE):
                with suppress(TypeError):  # a tuple holding something unhashable: left alone
                    setattr(record, name, seen.setdefault((type(value), value), value))


def dump(snapshot: Snapshot) -> bytes:
    """The snapshot's body, its records' values shared (`share_values`; the state's meaning
    does not change, so a state the cache still holds may be dumped)."""
    share_values(snapshot.state)
    return pickle.dumps((snapshot.registered, snapshot.state, snapshot.latest),
                        protocol=pickle.HIGHEST_PROTOCOL)


def load(number: str, position: int, version: int, body: bytes) -> Snapshot:
    registered, state, latest = pickle.loads(body)
    return Snapshot(number, position, version, registered, state, latest)


def send_snapshots(curs: Cursor[Any], rows: Sequence[tuple[str, int, int, bytes]]) -> None:
    """Write (number, position, version, body) rows, keeping the newest of each patent."""
    newest: dict[str, tuple[str, int, int, bytes]] = {}
    for row in rows:
        if row[0] not in newest or newest[row[0]][1] < row[1]:
            newest[row[0]] = row
    if not newest:
        return
    numbers, positions, versions, bodies = zip(*newest.values(), strict=True)
    curs.execute(UPSERT, (FORM, list(numbers), list(positions), list(versions), list(bodies)))


UPSERT = """
    INSERT INTO ledger_patent_snapshots (number, position, version, form, state)
    SELECT number, position, version, %s, state
    FROM unnest(%s::text[], %s::bigint[], %s::int[], %s::bytea[])
         AS taken(number, position, version, state)
    ON CONFLICT (number) DO UPDATE
        SET position = excluded.position, version = excluded.version,
            form = excluded.form, state = excluded.state
        WHERE ledger_patent_snapshots.position < excluded.position
           OR ledger_patent_snapshots.form <> excluded.form"""
