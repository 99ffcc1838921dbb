"""Who may read which events, and which of their members: the one answer every read path asks.

Contract (architecture.md s3): "roles auditor and regulator see all; platform sees no
anomalies, credit or listings". Platforms read what platforms post (parties, patents, status
and inventor changes, every deal kind); regulators' decisions (subsidies, listings, findings
on anomalies) are for oversight only. `admin` issues keys and may call every endpoint
(api/auth.py `require` always lets it in), so it reads everything too.

Part of the contract, so it lives in the ledger: `/v1/events`, GraphQL `events`, `history`,
`deal` and every `evidence` list ask `shown` (or filter by `readable`, its SQL twin). An event
a role may not read is left out of lists entirely, never shown with blanks. A member withheld
from a role is absent from the payload (never null or masked), and the event's proof, which
carries the stored bytes, is withheld with it. No member is withheld today: anomalies live in
the read models (rm_anomalies), not in events, and a licence's `late` is INV-13, the
platform's own filing date judged by the ledger and already in its POST answer. A member added
to an event kind that platforms read must be decided here (tests/test_visibility.py pins them).

`python -m api.visibility` prints the table of docs/reliability.md ("What each role may
read") from these answers; a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.law import events as ev

ROLES: tuple[str, ...] = ("platform", "auditor", "regulator", "admin")  # as api/auth.py ROLES
OVERSIGHT: frozenset[str] = frozenset({"auditor", "regulator", "admin"})
EVERYONE: frozenset[str] = frozenset(ROLES)

Kind = type[ev.LedgerEvent]

READERS: dict[Kind, frozenset[str]] = {
    ev.PartyRegistered: EVERYONE,
    ev.PatentRegistered: EVERYONE,
    ev.PatentStatusChanged: EVERYONE,
    ev.InventorsChanged: EVERYONE,
    ev.PatentTermExtended: EVERYONE,  # a CNIPA decision published in the gazette
    **{cls: EVERYONE for cls in ev.DEAL_EVENTS.values()},
    ev.SubsidyAwarded: OVERSIGHT,  # a regulator's decision on public money
    ev.PartyListed: OVERSIGHT,  # "platform sees no ... listings"
    ev.PartyDelisted: OVERSIGHT,
    ev.AnomalyConfirmed: OVERSIGHT,  # "platform sees no anomalies"
    ev.AnomalyDismissed: OVERSIGHT,
    ev.SubsidyRecovered: OVERSIGHT,  # issue 17: a regulator's decision on public money
    # issue 18 (pools): platforms post them, as they post parties and patents
    ev.PoolFormed: EVERYONE,
    ev.PatentClassified: EVERYONE,
    ev.PartyQualified: EVERYONE,
    ev.PartySizeChanged: EVERYONE,
    # issue 19: posted by platforms (banks) as well as regulators, about a loan they follow
    ev.RiskPaymentMade: EVERYONE,
    # issue 18 (outcomes): what platforms post of a patent's use, read like deals
    ev.IndustrialisationReported: EVERYONE,
    ev.ProductFiled: EVERYONE,
    ev.ProductReported: EVERYONE,
}

# Members of a kind a role may read but must not see, by kind and role. None today (see above).
WITHHELD: dict[Kind, dict[str, frozenset[str]]] = {}

_BY_TOPIC: dict[str, Kind] = {cls.TOPIC: cls for cls in ev.ALL_EVENTS}


def kind_of_topic(topic: str) -> Kind:
    return _BY_TOPIC[topic]


def may_read(role: str | None, kind: Kind) -> bool:
    """Fail closed: an unknown role or an event kind missing from READERS reads nothing."""
    return role is not None and role in READERS.get(kind, frozenset())


def readable(role: str | None) -> tuple[Kind, ...]:
    """The kinds `role` may read, in ledger order: what a read path filters on in SQL."""
    return tuple(cls for cls in ev.ALL_EVENTS if may_read(role, cls))


def reads_everything(role: str | None) -> bool:
    """True when no kind is hidden from `role` and nothing withheld: paths may skip filtering."""
    return len(readable(role)) == len(ev.ALL_EVENTS) and not any(
        withheld_members(role, cls) for cls in ev.ALL_EVENTS)


def withheld_members(role: str | None, kind: Kind) -> frozenset[str]:
    return WITHHELD.get(kind, {}).get(role or "", frozenset())


def may_read_oversight(role: str | None) -> bool:
    """Anomalies, credit and listings (read models derived from oversight events)."""
    return role in OVERSIGHT


def shown(role: str | None, kind: Kind, payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The payload `role` may see of an event of `kind`, or None if it may not see the event."""
    if not may_read(role, kind):
        return None
    hidden = withheld_members(role, kind)
    return {name: value for name, value in payload.items() if name not in hidden}
