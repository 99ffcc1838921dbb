"""The register the writer judges deals against: every party, patent timeline and deal id.

It is an in-memory fold of the event log, owned by the single writer thread (`ledger/writer`):
rebuilt from the log at start, brought up to date before each group commit, and changed only
by events that were accepted. Each patent keeps its events in effective-date order, so a
backdated deal is judged on the register as it stood on its effective date and then every
later event is judged again with it in place ("must not break a later event").
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple
from uuid import UUID

from ledger import events as ev
from ledger import patent_state as ps
from ledger.rules import Refusal, check


@dataclass(slots=True)
class PatentTimeline:
    registered: ev.PatentRegistered
    # (effective_on, sequence) keys kept sorted beside the events they order.
    keys: list[tuple[date, int]] = field(default_factory=list)
    events: list[ev.LedgerEvent] = field(default_factory=list)
    _current: ps.PatentState | None = None

    @property
    def number(self) -> str:
        return self.registered.number

    def current(self) -> ps.PatentState:
        """The state after every event (cached; rebuilt after a backdated insert or retract)."""
        if self._current is None:
            self._current = self.state_on(None)
        return self._current

    def state_on(self, day: date | None) -> ps.PatentState:
        """The register for this patent on `day` (None: after everything recorded)."""
        state = ps.start_state(self.registered)
        for key, event in zip(self.keys, self.events, strict=True):
            if day is not None and key[0] > day:
                break
            ps.apply(state, event)
        return state

    def judge(self, event: ev.LedgerEvent) -> Refusal | None:
        """Refusal if `event` breaks a rule on its date or makes a later event unlawful."""
        day = event.effective_on
        if not self.keys or day >= self.keys[-1][0]:
            return check(self.current(), event)
        state = ps.start_state(self.registered)
        index = bisect.bisect_right(self.keys, (day, 1 << 62))
        for earlier in self.events[:index]:
            ps.apply(state, earlier)
        refusal = check(state, event)
        if refusal is not None:
            return refusal
        ps.apply(state, event)
        for later in self.events[index:]:
            broken = check(state, later)
            if broken is not None:
                return _breaks_later(event, later, broken)
            ps.apply(state, later)
        return None

    def place(self, event: ev.LedgerEvent, sequence: int) -> None:
        key = (event.effective_on, sequence)
        if not self.keys or key >= self.keys[-1]:  # the usual case: the latest so far
            self.keys.append(key)
            self.events.append(event)
            if self._current is not None:
                ps.apply(self._current, event)
            return
        index = bisect.bisect_right(self.keys, key)
        self.keys.insert(index, key)
        self.events.insert(index, event)
        self._current = None

    def retract(self, event: ev.LedgerEvent) -> None:
        index = next(i for i, e in enumerate(self.events) if e is event)
        del self.keys[index]
        del self.events[index]
        self._current = None


def _breaks_later(event: ev.LedgerEvent, later: ev.LedgerEvent, broken: Refusal) -> Refusal:
    later_id = getattr(later, "deal_id", None) or f"{later.TOPIC}@{later.effective_on}"
    return Refusal(
        broken.rule,
        f"backdated to {event.effective_on}, this would make later event {later_id} "
        f"({later.TOPIC} on {later.effective_on}) unlawful: {broken.detail}",
        {**broken.facts, "breaks_later_event": later_id,
         "later_effective_on": later.effective_on.isoformat()},
    )


class Posted(NamedTuple):
    """What the ledger answered for an idempotency key, rebuilt from the stored event.

    A named tuple rather than a dataclass: one is made per stored event (twice, for the
    writer's own: pending, then with its position), and a tuple of strings and numbers is
    cheaper to build and is left alone by the cyclic garbage collector.
    """

    key: str
    fingerprint: str
    topic: str
    position: int
    patents: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  # e.g. INV-13 for a late licence filing


@dataclass(slots=True)
class Register:
    parties: dict[str, ev.PartyRegistered] = field(default_factory=dict)
    patents: dict[str, PatentTimeline] = field(default_factory=dict)
    deals: dict[str, ev.DealEvent] = field(default_factory=dict)
    posted: dict[str, Posted] = field(default_factory=dict)  # "deal:ID", "subsidy:ID", ...
    listings: dict[str, ev.PartyListed] = field(default_factory=dict)
    delisted: set[str] = field(default_factory=set)
    versions: dict[UUID, int] = field(default_factory=dict)  # of streams that grow: not deals'
    position: int = 0  # the last notification id folded in
    _sequence: int = 0

    @property
    def applied(self) -> int:
        """How many events were ever folded in (retracted ones included)."""
        return self._sequence

    def next_version(self, stream: UUID) -> int:
        return self.versions.get(stream, 0) + 1

    def judge(self, event: ev.LedgerEvent) -> Refusal | None:
        """The first refusal over every patent the event touches (all or nothing)."""
        if isinstance(event, ev.PatentRegistered):
            existing = self.patents.get(event.number)
            return None if existing is None else check(existing.current(), event)
        for number in _patents_of(event):
            refusal = self.patents[number].judge(event)
            if refusal is not None:
                return refusal
        return None

    def apply(self, event: ev.LedgerEvent, position: int = 0) -> None:
        """Fold an accepted event in; `position` is 0 until the store has given it one."""
        self._sequence += 1
        if isinstance(event, ev.DealEvent):  # nearly every event: the short way
            self.deals[event.deal_id] = event
            for number in event.patents:
                self.patents[number].place(event, self._sequence)
            key = deal_key(event.deal_id)
            late = isinstance(event, ev.LicenceGranted) and event.late
            self.posted[key] = Posted(key, event.fingerprint, event.TOPIC, position,
                                      tuple(event.patents), ("INV-13",) if late else ())
            if position > self.position:
                self.position = position
            return
        self.versions[event.originator_id] = event.originator_version  # deals' never grow
        if isinstance(event, ev.PartyRegistered):
            self.parties[event.party_id] = event
        elif isinstance(event, ev.PatentRegistered):
            self.patents[event.number] = PatentTimeline(event)
        elif isinstance(event, ev.PartyListed):
            self.listings[event.listing_id] = event
        elif isinstance(event, ev.PartyDelisted):
            self.delisted.add(event.listing_id)
        for number in _patents_of(event):
            self.patents[number].place(event, self._sequence)
        posted_key = posting_key(event)
        if posted_key is not None:
            self.posted[posted_key] = Posted(posted_key, getattr(event, "fingerprint", ""),
                                             event.TOPIC, position, tuple(_patents_of(event)))
        self.position = max(self.position, position)

    def confirm(self, event: ev.LedgerEvent, position: int) -> Posted | None:
        """Record the position the store gave an event applied before it was saved; the
        answer now standing for its idempotency key, if it has one."""
        if position > self.position:
            self.position = position
        key = posting_key(event)
        if key is None:
            return None
        first = self.posted[key]  # built by `apply` with position 0; answers stay frozen
        confirmed = Posted(first.key, first.fingerprint, first.topic, position, first.patents,
                           first.flags)
        self.posted[key] = confirmed
        return confirmed

    def retract(self, event: ev.LedgerEvent) -> None:
        """Undo `apply` for an event whose transaction did not commit."""
        if isinstance(event, ev.PatentRegistered):
            del self.patents[event.number]
        else:
            for number in _patents_of(event):
                self.patents[number].retract(event)
        if isinstance(event, ev.PartyRegistered):
            del self.parties[event.party_id]
        if isinstance(event, ev.PartyListed):
            del self.listings[event.listing_id]
        if isinstance(event, ev.PartyDelisted):
            self.delisted.discard(event.listing_id)
        if isinstance(event, ev.DealEvent):
            del self.deals[event.deal_id]
        key = posting_key(event)
        if key is not None:
            del self.posted[key]
        if event.originator_version > 1:
            self.versions[event.originator_id] = event.originator_version - 1
        else:
            self.versions.pop(event.originator_id, None)


def _patents_of(event: ev.LedgerEvent) -> list[str]:
    if isinstance(event, ev.DealEvent):
        return event.patents
    if isinstance(event, ev.PatentStatusChanged | ev.InventorsChanged):
        return [event.number]
    return []


def deal_key(deal_id: str) -> str:
    """The idempotency key of a deal (the writer's and the decisions' one spelling of it)."""
    return f"deal:{deal_id}"


def posting_key(event: ev.LedgerEvent) -> str | None:
    """The idempotency key under which a retry of the same posting finds its first answer."""
    if isinstance(event, ev.DealEvent):
        return deal_key(event.deal_id)
    if isinstance(event, ev.SubsidyAwarded):
        return f"subsidy:{event.subsidy_id}"
    if isinstance(event, ev.PartyListed):
        return f"listing:{event.listing_id}"
    if isinstance(event, ev.PartyDelisted):
        return f"delisting:{event.listing_id}"
    if isinstance(event, ev.AnomalyFinding):
        return f"finding:{event.anomaly_id}"
    if isinstance(event, ev.PartyRegistered):
        return f"party:{event.party_id}"
    if isinstance(event, ev.PatentRegistered):
        return f"patent:{event.number}"
    return None
