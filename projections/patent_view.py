"""One patent as the read side shows it, folded from its events with the evidence for each part.

The fold is the ledger's own (`ledger.law.patent_state.apply`), so a read model can never disagree
with what the writer judged deals against. Beside the state it keeps, for each owner set,
licence, open licence and pledge, the log positions of the events it came from: every answer
can show its evidence. Events are folded in effective-date order (ties: log order), which is
what makes `asOf` answers right after a backdated posting.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.law import events as ev
from ledger.law import patent_state as ps
from ledger.law.values import Money


@dataclass(frozen=True, slots=True)
class OwnerView:
    party: str
    share: Decimal
    positions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LicenceView:
    deal_id: str
    licensors: tuple[str, ...]
    licensee: str
    licence_kind: str
    territory: str
    field: str
    starts_on: date
    ends_on: date
    fee: dict[str, Any]
    sublicensable: bool
    parent_licence: str | None
    open_licence: bool
    terminated_on: date | None
    positions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OpenLicenceView:
    deal_id: str
    fee: dict[str, Any]
    starts_on: date
    ends_on: date
    withdrawn_on: date | None
    positions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PledgeView:
    deal_id: str
    pledgors: tuple[str, ...]
    pledgee: str
    secured_amount: Money | None  # None: not disclosed (a foreign record)
    due_on: date | None
    registered_on: date
    status: str
    defaulted_on: date | None
    outstanding: Money | None
    ended_on: date | None
    position: int
    positions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PatentHead:
    """The patent's own facts, without the lists (one row of `rm_patents`)."""

    number: str
    kind: str
    title: str
    status: str  # as recorded; `status_on` adds expiry by term
    preserved: bool
    dispute_suspended: bool
    filed_on: date
    granted_on: date | None  # None: an application (status "pending")
    expires_on: date  # with any term compensation (Art. 42(2)-(3))
    invalidation_pending: bool = False  # requested, not yet decided (Art. 45-46)

    def status_on(self, day: date) -> str:
        return ps.status_on(self.status, self.expires_on, day)


@dataclass(frozen=True, slots=True)
class PatentView:
    head: PatentHead
    owners: tuple[OwnerView, ...]
    licences: tuple[LicenceView, ...]
    open_licence: OpenLicenceView | None
    pledges: tuple[PledgeView, ...]
    positions: tuple[int, ...]


def fee_of(event: ev.LicenceGranted | ev.OpenLicenceDeclared) -> dict[str, Any]:
    fee: dict[str, Any] = {"mode": event.fee_mode}
    if event.fee_amount is not None:
        fee["amount"] = {"amount": str(event.fee_amount.amount),
                         "currency": event.fee_amount.currency}
    if event.fee_rate is not None:
        fee["rate"] = str(event.fee_rate)
    return fee


@dataclass(slots=True)
class Folding:
    """The state after some prefix of a patent's events, and the evidence behind each part."""

    registered: ev.PatentRegistered
    state: ps.PatentState
    owner_positions: tuple[int, ...]
    licence_positions: dict[str, list[int]] = field(default_factory=dict)
    licence_fees: dict[str, dict[str, Any]] = field(default_factory=dict)
    open_positions: list[int] = field(default_factory=list)
    open_fee: dict[str, Any] = field(default_factory=dict)
    pledge_positions: dict[str, list[int]] = field(default_factory=dict)
    positions: list[int] = field(default_factory=list)

    @classmethod
    def start(cls, registered: ev.PatentRegistered, position: int) -> Folding:
        return cls(registered, ps.start_state(registered), (position,), positions=[position])

    def step(self, position: int, event: ev.LedgerEvent) -> None:
        ps.apply(self.state, event)
        self.positions.append(position)
        match event:
            case ev.OwnershipTransferred() | ev.EquityContributed():
                self.owner_positions = (position,)
            case ev.PledgeDisposed():
                self.pledge_positions[event.pledge].append(position)
                if event.to_parties:
                    self.owner_positions = (position,)
                if event.deal_id in self.state.licences:  # issue 19: the disposal's licence
                    self.licence_positions[event.deal_id] = [position]
                    self.licence_fees[event.deal_id] = {"mode": "disposal"}
            case ev.LicenceGranted():
                self.licence_positions[event.deal_id] = [position]
                self.licence_fees[event.deal_id] = fee_of(event)
            case ev.OpenLicenceTaken():
                self.licence_positions[event.deal_id] = [position]
                self.licence_fees[event.deal_id] = dict(self.open_fee)
            case ev.LicenceTerminated():
                self.licence_positions[event.licence].append(position)
            case ev.OpenLicenceDeclared():
                self.open_positions = [position]
                self.open_fee = fee_of(event)
            case ev.OpenLicenceWithdrawn():
                self.open_positions.append(position)
            case ev.PledgeRegistered():
                self.pledge_positions[event.deal_id] = [position]
            case ev.PledgeReleased() | ev.LoanDefaulted():
                self.pledge_positions[event.pledge].append(position)
            case ev.PledgeChanged() | ev.RiskPaymentMade():  # issue 19
                self.pledge_positions.setdefault(event.pledge, []).append(position)
            case ev.PatentStatusChanged() if ps.ends_the_patent(event):
                for deal_id, pledge in self.state.pledges.items():
                    if pledge.status == "collateral_lost" and pledge.ended_on == event.effective_on:
                        self.pledge_positions[deal_id].append(position)

    # --- each part of the view, so a projection can rewrite only what an event changed ----

    def head(self) -> PatentHead:
        state = self.state
        return PatentHead(state.number, state.kind, self.registered.title, state.status,
                          state.preserved, state.dispute_suspended, state.filed_on,
                          state.granted_on, state.expires_on, state.invalidation_pending)

    def owners(self) -> tuple[OwnerView, ...]:
        return tuple(OwnerView(party, share, self.owner_positions)
                     for party, share in sorted(self.state.owners.items()))

    def licence(self, deal_id: str) -> LicenceView:
        lic = self.state.licences[deal_id]
        return LicenceView(
            deal_id=lic.deal_id, licensors=lic.licensors, licensee=lic.licensee,
            licence_kind=lic.kind, territory=lic.territory, field=lic.field,
            starts_on=lic.starts_on, ends_on=lic.ends_on, fee=self.licence_fees[deal_id],
            sublicensable=lic.sublicensable, parent_licence=lic.parent,
            open_licence=lic.open_licence, terminated_on=lic.terminated_on,
            positions=tuple(self.licence_positions[deal_id]))

    def open_licence(self) -> OpenLicenceView | None:
        opened = self.state.open_licence
        if opened is None:
            return None
        return OpenLicenceView(opened.deal_id, dict(self.open_fee), opened.starts_on,
                               opened.ends_on, opened.withdrawn_on, tuple(self.open_positions))

    def pledge(self, deal_id: str) -> PledgeView:
        p = self.state.pledges[deal_id]
        positions = self.pledge_positions[deal_id]
        return PledgeView(
            deal_id=p.deal_id, pledgors=p.pledgors, pledgee=p.pledgee,
            secured_amount=p.secured_amount, due_on=p.due_on, registered_on=p.registered_on,
            status=p.status, defaulted_on=p.defaulted_on, outstanding=p.outstanding,
            ended_on=p.ended_on, position=positions[0], positions=tuple(positions))

    def view(self) -> PatentView:
        return PatentView(
            head=self.head(),
            owners=self.owners(),
            licences=tuple(self.licence(d) for d in self.state.licences),
            open_licence=self.open_licence(),
            pledges=tuple(self.pledge(d) for d in self.state.pledges),
            positions=tuple(self.positions),
        )


class PatentFold:
    """A patent's events in effective-date order, with the current fold cached.

    An event that arrives in order is applied to the cached fold; a backdated one drops the
    cache, and the next read folds again from the registration.
    """

    __slots__ = ("_current", "_events", "_keys", "registered", "registered_at")

    def __init__(self, registered: ev.PatentRegistered, position: int) -> None:
        self.registered = registered
        self.registered_at = position
        self._keys: list[tuple[date, int]] = []
        self._events: list[ev.LedgerEvent] = []
        self._current: Folding | None = Folding.start(registered, position)

    def add(self, position: int, event: ev.LedgerEvent) -> bool:
        """Place an event; True when it came in effective-date order (the cheap case)."""
        key = (event.effective_on, position)
        at_end = not self._keys or key >= self._keys[-1]
        index = bisect.bisect_right(self._keys, key)
        self._keys.insert(index, key)
        self._events.insert(index, event)
        if at_end and self._current is not None:
            self._current.step(position, event)
        else:
            self._current = None
        return at_end

    def current(self) -> Folding:
        """The fold after every event (refolded once after a backdated event)."""
        if self._current is None:
            self._current = self._fold(None)
        return self._current

    def view(self, as_of: date | None = None) -> PatentView:
        """The patent after every event (None), or on the effective date `as_of`."""
        if as_of is None:
            return self.current().view()
        return self._fold(as_of).view()

    def _fold(self, as_of: date | None) -> Folding:
        folding = Folding.start(self.registered, self.registered_at)
        for (day, position), event in zip(self._keys, self._events, strict=True):
            if as_of is not None and day > as_of:
                break
            folding.step(position, event)
        return folding
