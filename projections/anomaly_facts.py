"""What the anomaly rules look at: chronologies, not state.

The rules ask about sequences (who owned a patent before, when pledges were released and
taken again, what a party received before a subsidy), so each patent keeps its ownership
changes, pledges and status changes in effective-date order, and each party what it received
and sold. `apply` returns the scopes an event may change the flags of: a late (backdated)
event lands in the middle of a chronology and its whole scope is judged again.

An `AnomalyFacts` holds one batch's world, never the whole log: what the batch's events need
and what its touched scopes are judged on, read from the projection's own tables
(`projections/anomaly_tables.py`); `apply` notes each fact it takes in (`Taken`), and those
rows are written in the batch's transaction.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledger.law import events as ev
from ledger.law.values import Money


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
class PartyFacts:
    """What the rules read of a party's registration."""

    party_kind: str
    size: str | None
    founded_on: date | None
    related_to: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ListingFacts:
    """A credit-list entry, with its end as it stands (an early delisting, or its term)."""

    listing_id: str
    credit_list: str
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True, slots=True)
class Movement:
    """A patent arriving at or leaving a party."""

    day: date
    position: int
    number: str
    deal_id: str
    counterparties: frozenset[str]


# Issue 19: the title moves an agency arranged are kept as the "sales" of a pseudo-party
# `agency:<id>`, so AR-12's shared-agent variant reads them as it reads a seller's.
AGENCY_PREFIX = "agency:"


def _when(item: Any) -> tuple[date, int]:
    """A chronology's order: effective date, then log position."""
    return item.day, item.position


def _insert(items: list[Any], item: Any) -> None:
    """Keep `items` in chronological order; most events arrive in order and go at the end."""
    if not items or _when(items[-1]) <= _when(item):
        items.append(item)
    else:
        bisect.insort(items, item, key=_when)


@dataclass(slots=True)
class Taken:
    """The facts one batch took in, to be written beside its flags."""

    parties: list[tuple[str, PartyFacts]] = field(default_factory=list)
    patents: list[PatentFacts] = field(default_factory=list)
    changes: list[tuple[str, Change]] = field(default_factory=list)
    dated: list[tuple[str, int, Dated]] = field(default_factory=list)  # number, order, fact
    movements: list[tuple[str, bool, int, Movement]] = field(default_factory=list)  # sold?
    deals: list[tuple[str, int]] = field(default_factory=list)
    subsidies: list[tuple[str, str, int]] = field(default_factory=list)


class AnomalyFacts:
    def __init__(self) -> None:
        self.parties: dict[str, PartyFacts] = {}
        self.patents: dict[str, PatentFacts] = {}
        self.deals: dict[str, tuple[int, ev.DealEvent]] = {}
        self.subsidies: dict[str, tuple[int, ev.SubsidyAwarded]] = {}
        self.subsidies_of: dict[str, list[str]] = defaultdict(list)  # party -> subsidy ids
        self.listings: dict[str, list[tuple[int, ListingFacts]]] = defaultdict(list)
        self.received: dict[str, list[Movement]] = defaultdict(list)
        self.sold: dict[str, list[Movement]] = defaultdict(list)
        self.taken = Taken()

    # --- reading -------------------------------------------------------------------------

    def founded(self, party: str) -> date | None:
        registered = self.parties.get(party)
        return None if registered is None else registered.founded_on

    def related(self, a: str, b: str) -> bool:
        one, other = self.parties.get(a), self.parties.get(b)
        return bool((one and b in one.related_to) or (other and a in other.related_to))

    def listed_on(self, party: str, day: date) -> ListingFacts | None:
        """The credit-list entry in force for `party` on `day`, if any."""
        for _, listing in self.listings.get(party, []):
            ends = listing.ends_on
            if listing.starts_on <= day and (ends is None or day < ends):
                return listing
        return None

    # --- folding the log -----------------------------------------------------------------

    def apply(self, position: int, event: ev.LedgerEvent) -> set[str]:
        """Take one event in; the scopes ("patent:N", "party:P", "subsidies") to judge again."""
        match event:
            case ev.PartyRegistered():
                party = self.parties[event.party_id] = PartyFacts(
                    event.party_kind, event.size, event.founded_on, tuple(event.related_to))
                self.taken.parties.append((event.party_id, party))
                return set()
            case ev.PatentRegistered():
                patent = self.patents[event.number] = PatentFacts(
                    event.number, event.patent_kind, event.expires_on, position,
                    frozenset(event.owners))
                self.taken.patents.append(patent)
                return set()
            case ev.PatentStatusChanged():
                self._date(event.number, 0, Dated(event.effective_on, position,
                                                  f"status:{event.status}"))
                return {f"patent:{event.number}"}
            case ev.InventorsChanged():
                self._date(event.number, 0, Dated(event.effective_on, position, "inventors"))
                return {f"patent:{event.number}"}
            case ev.SubsidyAwarded():
                self.subsidies[event.subsidy_id] = (position, event)
                self.subsidies_of[event.party].append(event.subsidy_id)
                self.taken.subsidies.append((event.subsidy_id, event.party, position))
                return {f"party:{event.party}", "subsidies"}
            case ev.PartyListed() | ev.PartyDelisted():  # the listing itself: rm_listings
                # AR-10 re-judges the party's sales, AR-13 its subsidies (issue 17)
                return self._sales_of(event.party) | {f"party:{event.party}"}
            case ev.DealEvent():
                self.deals[event.deal_id] = (position, event)
                self.taken.deals.append((event.deal_id, position))
                return self._deal(position, event)
        return set()

    def _date(self, number: str, order: int, dated: Dated) -> None:
        _insert(self.patents[number].dated, dated)
        self.taken.dated.append((number, order, dated))

    def _sales_of(self, party: str) -> set[str]:
        return {f"patent:{m.number}" for m in self.sold.get(party, [])}

    def _deal(self, position: int, event: ev.DealEvent) -> set[str]:
        touched = {f"patent:{n}" for n in event.patents}
        sellers, buyers, price, consideration = _title_move(event, self)
        for number in event.patents:
            facts = self.patents[number]
            if buyers:
                index = bisect.bisect_right(facts.changes, (event.effective_on, position),
                                            key=_when)
                from_ = sellers or facts.owners_before(index)
                change = Change(event.effective_on, position, event.deal_id, type(event).TOPIC,
                                frozenset(from_), buyers, price, consideration)
                _insert(facts.changes, change)
                self.taken.changes.append((number, change))
                order = event.patents.index(number)
                for buyer in buyers:
                    movement = Movement(event.effective_on, position, number, event.deal_id,
                                        frozenset(from_))
                    _insert(self.received[buyer], movement)
                    self.taken.movements.append((buyer, False, order, movement))
                    touched.add(f"party:{buyer}")
                for seller in from_:
                    movement = Movement(event.effective_on, position, number, event.deal_id,
                                        buyers)
                    _insert(self.sold[seller], movement)
                    self.taken.movements.append((seller, True, order, movement))
                    touched.add(f"party:{seller}")
                agency = getattr(event, "agency", None)
                if agency is not None:  # issue 19: AR-12's buyers sharing one agent
                    arranged = AGENCY_PREFIX + agency
                    movement = Movement(event.effective_on, position, number, event.deal_id,
                                        buyers)
                    _insert(self.sold[arranged], movement)
                    self.taken.movements.append((arranged, True, order, movement))
                    touched.add(f"party:{arranged}")
            for order, dated in enumerate(_dated(position, event)):
                self._date(number, order, dated)
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
