"""What the ledger answered for an idempotency key: the first answer a retry gets again."""

from __future__ import annotations

from typing import NamedTuple

from ledger.law import events as ev
from ledger.law.keys import patents_of
from ledger.law.rules import open_licence_short


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
    flags: tuple[str, ...] = ()  # INV-13 a late licence filing, INV-5 a short open licence


def posted_for(key: str, event: ev.LedgerEvent, position: int) -> Posted:
    return Posted(key, getattr(event, "fingerprint", ""), event.TOPIC, position,
                  tuple(patents_of(event)), flags_of(event))


def flags_of(event: ev.LedgerEvent) -> tuple[str, ...]:
    """The rules that flag (not refuse) a stored event, as its answer names them."""
    if isinstance(event, ev.LicenceGranted) and event.late:
        return ("INV-13",)
    if isinstance(event, ev.OpenLicenceDeclared) \
            and open_licence_short(event.starts_on, event.ends_on):
        return ("INV-5",)
    return ()
