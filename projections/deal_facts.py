"""One row per deal event for the indicators K1..K10: giver, receiver, value, detail.

Written by the audit projection (it needs no memory: parties' kind, size and region are
joined from `rm_parties` when an indicator is asked).
"""

from __future__ import annotations

from typing import Any

from ledger import events as ev
from ledger.values import Consideration, Money
from projections.copy_text import array
from projections.event_facts import kind_of

SUCCESSION = (Consideration.MERGER.value, Consideration.NAME_CHANGE.value)
COLUMNS = ("position", "kind", "deal_id", "effective_on", "recorded_at", "patents", "givers",
           "receivers", "amount", "currency", "detail", "recovered", "owed", "late",
           "corrects", "r_kind", "r_size", "g_kind")

# What the indicators need of a party: its kind and size, as registered.
PartyTraits = dict[str, tuple[str, str | None]]


class PartyTraitsFold:
    """Every party's kind and size, folded from the log (a projection's own memory, so its
    facts never depend on how far another projection has got)."""

    def __init__(self) -> None:
        self.parties: PartyTraits = {}

    def note(self, event: ev.LedgerEvent) -> None:
        if isinstance(event, ev.PartyRegistered):
            self.parties[event.party_id] = (event.party_kind, event.size)


class FollowsPartyTraits:
    """For a projection that writes deal facts: its own fold of the parties' traits, reset
    with the projection and warmed from the log before it resumes."""

    def __init__(self) -> None:
        self.traits = PartyTraitsFold()

    def reset(self) -> None:
        self.traits = PartyTraitsFold()

    def warm(self, batch: list[tuple[int, ev.LedgerEvent]]) -> None:
        for _, event in batch:
            self.traits.note(event)


def fact_row(position: int, event: ev.DealEvent, parties: PartyTraits) -> tuple[Any, ...]:
    """The indicator facts of one deal (releases, defaults and disposals name their pledge;
    the pledge's own row holds its pledgors), with its first receiver's kind and size and
    its first giver's kind."""
    givers: list[str] = []
    receivers: list[str] = []
    value: Money | None = None
    detail: str | None = None
    recovered = owed = None
    match event:
        case ev.OwnershipTransferred():
            givers, receivers, value = event.from_parties, list(event.to_parties), event.price
            detail = event.consideration
        case ev.EquityContributed():
            givers, receivers, value = event.from_parties, [event.company], event.valuation
        case ev.LicenceGranted():
            givers, receivers, value = event.licensors, [event.licensee], event.fee_amount
            detail = f"{event.licence_kind}/{event.fee_mode}"
        case ev.OpenLicenceDeclared() | ev.OpenLicenceWithdrawn():
            givers = event.owners
        case ev.OpenLicenceTaken():
            receivers = [event.licensee]
        case ev.PledgeRegistered():
            givers, receivers, value = event.pledgors, [event.pledgee], event.secured_amount
        case ev.LoanDefaulted():
            value = event.outstanding
        case ev.PledgeDisposed():
            receivers, value, detail = list(event.to_parties), event.proceeds, event.mode
            recovered = event.claim_paid.amount
            owed = event.claim_paid.amount + event.shortfall.amount
    late = isinstance(event, ev.LicenceGranted) and event.late
    kind = kind_of(event)
    if isinstance(event, ev.OwnershipTransferred) and event.consideration in SUCCESSION:
        kind = "succession"  # the owner's identity changed; no market transfer (K1, K4, K5)
    return (position, kind, event.deal_id, event.effective_on, event.timestamp,
            array(event.patents), array(givers), array(receivers),
            None if value is None else value.amount, None if value is None else value.currency,
            detail, recovered, owed, late, event.corrects,
            *_traits(receivers, parties), _traits(givers, parties)[0])


def _traits(who: list[str], parties: PartyTraits) -> tuple[str | None, str | None]:
    return parties.get(who[0], (None, None)) if who else (None, None)
