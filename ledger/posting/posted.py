"""What the ledger answered for an idempotency key: the first answer a retry gets again."""

from __future__ import annotations

from typing import NamedTuple

from ledger.law import events as ev
from ledger.law.keys import patents_of


class Posted(NamedTuple):
    """What the ledger answered for an idempotency key, rebuilt from the stored event.

    A named tuple rather than a dataclass: one is made per stored event (twice, for the
    writer's own: pending, then with its position), and a tuple is cheap to build.
    """

    key: str
    fingerprint: str
    topic: str
    position: int
    patents: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  # e.g. INV-13 for a late licence filing


def posted_for(key: str, event: ev.LedgerEvent, position: int) -> Posted:
    late = isinstance(event, ev.LicenceGranted) and event.late
    return Posted(key, getattr(event, "fingerprint", ""), event.TOPIC, position,
                  tuple(patents_of(event)), ("INV-13",) if late else ())
