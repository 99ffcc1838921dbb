"""What the anomaly rules look at, kept in memory from the log: chronologies, not state.

The rules ask about sequences (who owned a patent before, when pledges were released and
taken again, what a party received before a subsidy), so each patent keeps its ownership
changes, pledges and status changes in effective-date order, and each party what it received
and sold. `apply` returns the scopes an event may change the flags of: a late (backdated)
event lands in the middle of a chronology and its whole scope is judged again.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledger import events as ev
from ledger.values import Money


@dataclass(frozen=True, slots=True)
class Change:
    """An ownership change: transfer, equity contribution, or a disposal that moves title."""

    day: date
    position: int
    deal_id: str
    kind: str
    sellers: frozenset[str]
    buyers: frozenset[str]
    price: Money | None
    consideration: str | None


@dataclass(frozen=True, slots=True)
class Dated:
    """Any other dated fact of a patent: a deal or a status change."""

    day: date
    position: int
    kind: str  # transfer, licence, pledge, pledge_release, status:<value>, valuation, inventors
    deal_id: str | None = None
    parties: frozenset[str] = frozenset()
    amount: Money | None = None


@dataclass(slots=True)
class PatentFacts:
    number: str
    kind: str
    expires_on: date
    registered_at: int
    first_owners: frozenset[str]
    changes: list[Change] = field(default_factory=list)
    dated: list[Dated] = field(default_factory=list)

    def owners_before(self, index: int) -> frozenset[str]:
        return self.changes[index - 1].buyers if index else self.first_owners

    def of_kind(self, *kinds: str) -> list[Dated]:
        return [d for d in self.dated if d.kind in kinds]


@dataclass(frozen=True, slots=True)
class Movement:
    """A patent arriving at or leaving a party."""

    day: date
    position: int
    number: str
    deal_id: str
    counterparties: frozenset[str]


def _insert(items: list[Any], item: Any) -> None:
    bisect.insort(items, item, key=lambda i: (i.day, i.position))


class AnomalyFacts:
    def __init__(self) -> None:
        self.parties: dict[str, ev.PartyRegistered] = {}
        self.patents: dict[str, PatentFacts] = {}
        self.deals: dict[str, tuple[int, ev.DealEvent]] = {}
        self.subsidies: dict[str, tuple[int, ev.SubsidyAwarded]] = {}
        self.subsidies_of: dict[str, list[str]] = defaultdict(list)  # party -> subsidy ids
        self.listings: dict[str, list[tuple[int, ev.PartyListed]]] = defaultdict(list)
        self.delisted: dict[str, date] = {}  # listing id -> the day it ended early
        self.received: dict[str, list[Movement]] = defaultdict(list)
        self.sold: dict[str, list[Movement]] = defaultdict(list)

    # --- reading -------------------------------------------------------------------------

    def founded(self, party: str) -> date | None:
        registered = self.parties.get(party)
        return None if registered is None else registered.founded_on

    def related(self, a: str, b: str) -> bool:
        one, other = self.parties.get(a), self.parties.get(b)
        return bool((one and b in one.related_to) or (other and a in other.related_to))

    def listed_on(self, party: str, day: date) -> ev.PartyListed | None:
        """The credit-list entry in force for `party` on `day`, if any."""
        for _, listing in self.listings.get(party, []):
            ends = self.delisted.get(listing.listing_id, listing.ends_on)
            if listing.starts_on <= day and (ends is None or day < ends):
                return listing
        return None

    # --- folding the log -----------------------------------------------------------------

    def apply(self, position: int, event: ev.LedgerEvent) -> set[str]:
        """Take one event in; the scopes ("patent:N", "party:P", "subsidies") to judge again."""
        match event:
            case ev.PartyRegistered():
                self.parties[event.party_id] = event
                return set()
            case ev.PatentRegistered():
                self.patents[event.number] = PatentFacts(
                    event.number, event.patent_kind, event.expires_on, position,
                    frozenset(event.owners))
                return set()
            case ev.PatentStatusChanged():
                _insert(self.patents[event.number].dated,
                        Dated(event.effective_on, position, f"status:{event.status}"))
                return {f"patent:{event.number}"}
            case ev.InventorsChanged():
                _insert(self.patents[event.number].dated,
                        Dated(event.effective_on, position, "inventors"))
                return {f"patent:{event.number}"}
            case ev.SubsidyAwarded():
                self.subsidies[event.subsidy_id] = (position, event)
                self.subsidies_of[event.party].append(event.subsidy_id)
                return {f"party:{event.party}", "subsidies"}
            case ev.PartyListed():
                self.listings[event.party].append((position, event))
                return self._sales_of(event.party)
            case ev.PartyDelisted():
                self.delisted[event.listing_id] = event.effective_on
                return self._sales_of(event.party)
            case ev.DealEvent():
                self.deals[event.deal_id] = (position, event)
                return self._deal(position, event)
        return set()

    def _sales_of(self, party: str) -> set[str]:
        return {f"patent:{m.number}" for m in self.sold.get(party, [])}

    def _deal(self, position: int, event: ev.DealEvent) -> set[str]:
        touched = {f"patent:{n}" for n in event.patents}
        sellers, buyers, price, consideration = _title_move(event, self)
        for number in event.patents:
            facts = self.patents[number]
            if buyers:
                index = bisect.bisect_right([(c.day, c.position) for c in facts.changes],
                                            (event.effective_on, position))
                from_ = sellers or facts.owners_before(index)
                _insert(facts.changes, Change(event.effective_on, position, event.deal_id,
                                              type(event).TOPIC, frozenset(from_), buyers,
                                              price, consideration))
                for buyer in buyers:
                    _insert(self.received[buyer], Movement(event.effective_on, position, number,
                                                           event.deal_id, frozenset(from_)))
                    touched.add(f"party:{buyer}")
                for seller in from_:
                    _insert(self.sold[seller], Movement(event.effective_on, position, number,
                                                        event.deal_id, buyers))
                    touched.add(f"party:{seller}")
            for dated in _dated(position, event):
                _insert(facts.dated, dated)
        return touched


def _title_move(event: ev.DealEvent, facts: AnomalyFacts
                ) -> tuple[frozenset[str], frozenset[str], Money | None, str | None]:
    """(sellers, buyers, price, consideration) when the deal moves title; buyers empty if not."""
    match event:
        case ev.OwnershipTransferred():
            return (frozenset(event.from_parties), frozenset(event.to_parties), event.price,
                    event.consideration)
        case ev.EquityContributed():
            return frozenset(event.from_parties), frozenset({event.company}), None, "equity"
        case ev.PledgeDisposed() if event.to_parties:
            _, pledged = facts.deals[event.pledge]
            pledgors = frozenset(getattr(pledged, "pledgors", ()))
            return pledgors, frozenset(event.to_parties), event.proceeds, f"disposal:{event.mode}"
    return frozenset(), frozenset(), None, None


def _dated(position: int, event: ev.DealEvent) -> list[Dated]:
    day = event.effective_on
    match event:
        case ev.OwnershipTransferred():
            return [Dated(day, position, "transfer", event.deal_id, frozenset(event.to_parties),
                          event.price)]
        case ev.EquityContributed():
            return [Dated(day, position, "transfer", event.deal_id, frozenset({event.company})),
                    *([Dated(day, position, "valuation", event.deal_id, amount=event.valuation)]
                      if event.valuation else [])]
        case ev.LicenceGranted():
            return [Dated(day, position, "licence", event.deal_id, frozenset({event.licensee}),
                          event.fee_amount)]
        case ev.PledgeRegistered():
            return [Dated(day, position, "pledge", event.deal_id, frozenset(event.pledgors),
                          event.secured_amount)]
        case ev.PledgeReleased():
            return [Dated(day, position, "pledge_release", event.pledge)]
        case ev.PledgeDisposed() if event.valuation is not None:
            return [Dated(day, position, "valuation", event.deal_id, amount=event.valuation)]
    return []
