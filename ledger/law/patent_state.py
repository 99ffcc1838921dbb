"""The state of one patent on the register as of a date, and how each event changes it.

The rules (`ledger/law/rules.py`) read this state; `apply` is the only code that changes it. A
patent's state on any date is the fold of its events in effective-date order, which is what
lets a backdated deal be judged against the register as it stood on its effective date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.law import events as ev

IN_FORCE = "in_force"
PENDING = "pending"  # an application: filed, not (yet) granted (domain.md s9)
DEAD_STATUSES = frozenset({"lapsed", "expired", "invalidated"})
# Issue 19: a disposal's licence names no territory or field: it covers China, every field.
DISPOSAL_LICENCE_SCOPE = ("CN", "*")


def ends_the_patent(event: ev.PatentStatusChanged) -> bool:
    """Whether a status change kills the patent: a lapse, expiry or invalidation, or an
    invalidation decision that invalidates it (issue 17)."""
    return event.status in DEAD_STATUSES or (
        event.status == "invalidation_decided" and event.outcome == "invalidated")


def status_on(recorded: str, expires_on: date, day: date) -> str:
    """The status on `day`: the recorded one, or `expired` once the term has run out."""
    if day > expires_on and recorded != "invalidated":
        return "expired"
    return recorded


def licence_last_day(ends_on: date, terminated_on: date | None) -> date:
    """The last day a licence is in force: its term, or the day before its termination."""
    if terminated_on is not None and terminated_on <= ends_on:
        return date.fromordinal(terminated_on.toordinal() - 1)
    return ends_on


@dataclass(slots=True)
class LicenceRecord:
    deal_id: str
    licensors: tuple[str, ...]
    licensee: str
    kind: str
    territory: str
    field: str
    starts_on: date
    ends_on: date
    sublicensable: bool
    parent: str | None
    granted_by_owners: frozenset[str]  # INV-14: who owned the patent when it was granted
    open_licence: bool = False
    terminated_on: date | None = None

    def last_day(self) -> date:
        return licence_last_day(self.ends_on, self.terminated_on)

    def in_force_on(self, day: date) -> bool:
        return self.starts_on <= day <= self.last_day()

    def overlaps(self, territory: str, field_: str, starts_on: date, ends_on: date) -> bool:
        """Same patent is given; overlap needs territory, field and term to meet."""
        return (
            _scope_meets(self.territory, territory)
            and _scope_meets(self.field, field_)
            and self.starts_on <= ends_on
            and starts_on <= self.last_day()
        )


def _scope_meets(a: str, b: str) -> bool:
    """`*` covers everything; otherwise two scopes meet when they are equal."""
    return a == "*" or b == "*" or a == b


@dataclass(slots=True)
class PledgeRecord:
    deal_id: str
    pledgors: tuple[str, ...]
    pledgee: str
    secured_amount: ev.Money | None  # None: not disclosed (a foreign record)
    due_on: date | None
    registered_on: date
    status: str = "active"  # active, defaulted, released, disposed
    defaulted_on: date | None = None
    outstanding: ev.Money | None = None
    ended_on: date | None = None
    # Issue 19: risk-sharing payments towards the loan (domain.md s11.3), by currency; the
    # disposal's allocation shows what they covered of the claim.
    compensated: dict[str, Decimal] = field(default_factory=dict)
    changes: int = 0  # pledge changes (extensions, new amounts): not releases (AR-9)

    @property
    def encumbers(self) -> bool:
        """INV-9/INV-10: a pledge binds the patent until it is released or disposed."""
        return self.status in ("active", "defaulted")


@dataclass(slots=True)
class OpenLicenceRecord:
    deal_id: str
    starts_on: date
    ends_on: date
    withdrawn_on: date | None = None

    def in_force_on(self, day: date) -> bool:
        if self.withdrawn_on is not None and day >= self.withdrawn_on:
            return False
        return self.starts_on <= day <= self.ends_on


# --- issue 18 (pools) ------------------------------------------------------------------------


@dataclass(slots=True)
class PoolMembership:
    """A patent's place in a pool (domain.md s10.3): from its entry's `starts_on` to its
    `ends_on` or the day before its exit, whichever comes first."""

    pool: str
    deal_id: str  # the entry
    administrator: str
    field: str
    starts_on: date
    ends_on: date | None
    exited_on: date | None = None

    def last_day(self) -> date | None:
        """The last day in the pool (None: open-ended)."""
        if self.exited_on is None:
            return self.ends_on
        before_exit = date.fromordinal(self.exited_on.toordinal() - 1)
        return before_exit if self.ends_on is None else min(self.ends_on, before_exit)

    def overlaps(self, starts_on: date, ends_on: date | None) -> bool:
        last = self.last_day()
        return (ends_on is None or self.starts_on <= ends_on) and (
            last is None or starts_on <= last)

    def covers(self, starts_on: date, ends_on: date) -> bool:
        last = self.last_day()
        return self.starts_on <= starts_on and (last is None or ends_on <= last)


# --- end issue 18 (pools) --------------------------------------------------------------------


@dataclass(slots=True)
class PatentState:
    number: str
    kind: str
    filed_on: date
    granted_on: date | None  # None: still an application
    expires_on: date  # the term from filing (Art. 42(1)) plus any compensation granted
    owners: dict[str, Decimal]
    status: str = IN_FORCE  # pending, in_force, fee_grace, lapsed, expired, invalidated
    preserved: bool = False
    dispute_suspended: bool = False
    invalidation_pending: bool = False  # a request made, no decision yet (Art. 45-46)
    # Term compensation by basis (grant_delay, drug_review): days added to `expires_on`.
    extensions: dict[str, int] = field(default_factory=dict)
    licences: dict[str, LicenceRecord] = field(default_factory=dict)
    # The exclusive and sole ones again (the same records): all an ordinary licence can
    # collide with (INV-6), so a patent with hundreds of ordinary licences is not scanned.
    exclusive_or_sole: dict[str, LicenceRecord] = field(default_factory=dict)
    pledges: dict[str, PledgeRecord] = field(default_factory=dict)
    open_licence: OpenLicenceRecord | None = None
    # issue 18 (pools): the pools the patent entered, by pool (its latest entry in each),
    # and its IPC symbols (the latest classification)
    pools: dict[str, PoolMembership] = field(default_factory=dict)
    ipc: tuple[str, ...] = ()

    def status_on(self, day: date) -> str:
        return status_on(self.status, self.expires_on, day)

    def application_on(self, day: date) -> bool:
        """Whether on `day` the patent was an application: before its grant, or never
        granted. Its right then is the application right (Patent Law Art. 10)."""
        return self.granted_on is None or day < self.granted_on

    def active_pledge(self) -> PledgeRecord | None:
        for pledge in self.pledges.values():
            if pledge.encumbers:
                return pledge
        return None


def start_state(event: ev.PatentRegistered) -> PatentState:
    return PatentState(
        number=event.number,
        kind=event.patent_kind,
        filed_on=event.filed_on,
        granted_on=event.granted_on,
        expires_on=event.expires_on,
        owners=dict(event.owners),
        status=IN_FORCE if event.granted_on is not None else PENDING,
    )


def apply(state: PatentState, event: ev.LedgerEvent) -> None:
    """Change `state` by one event that the rules have already accepted."""
    handler = _APPLY.get(type(event))
    if handler is not None:
        handler(state, event)


def _status_changed(state: PatentState, event: ev.PatentStatusChanged) -> None:
    status = event.status
    if status == "preserved":
        state.preserved = True
    elif status == "preservation_lifted":
        state.preserved = False
    elif status == "dispute_suspended":
        state.dispute_suspended = True
    elif status == "dispute_lifted":
        state.dispute_suspended = False
    elif status == "restored":
        state.status = IN_FORCE
    elif status == "granted":
        state.granted_on, state.status = event.effective_on, IN_FORCE
    elif status == "invalidation_requested":
        state.invalidation_pending = True
    elif status == "invalidation_decided":
        state.invalidation_pending = False
        if event.outcome == "invalidated":  # upheld or partially: the patent stays in force
            state.status = "invalidated"
    else:
        state.status = status
    if ends_the_patent(event):
        # INV-12: the collateral is lost with the patent; the pledge view shows it.
        for pledge in state.pledges.values():
            if pledge.encumbers:
                pledge.status = "collateral_lost"
                pledge.ended_on = event.effective_on


def _term_extended(state: PatentState, event: ev.PatentTermExtended) -> None:
    state.expires_on = date.fromordinal(state.expires_on.toordinal() + event.days)
    state.extensions[event.basis] = state.extensions.get(event.basis, 0) + event.days


def _transferred(state: PatentState, event: ev.OwnershipTransferred) -> None:
    state.owners = dict(event.to_parties)  # INV-14: licences stay as they are


def _contributed(state: PatentState, event: ev.EquityContributed) -> None:
    state.owners = {event.company: Decimal(1)}


def _licence_granted(state: PatentState, event: ev.LicenceGranted) -> None:
    record = state.licences[event.deal_id] = LicenceRecord(
        deal_id=event.deal_id,
        licensors=tuple(event.licensors),
        licensee=event.licensee,
        kind=event.licence_kind,
        territory=event.territory,
        field=event.field,
        starts_on=event.starts_on,
        ends_on=event.ends_on,
        sublicensable=event.sublicensable,
        parent=event.parent_licence,
        granted_by_owners=frozenset(state.owners),
    )
    if record.kind != "ordinary":
        state.exclusive_or_sole[event.deal_id] = record


def _licence_terminated(state: PatentState, event: ev.LicenceTerminated) -> None:
    state.licences[event.licence].terminated_on = event.effective_on


def _open_licence_declared(state: PatentState, event: ev.OpenLicenceDeclared) -> None:
    state.open_licence = OpenLicenceRecord(event.deal_id, event.starts_on, event.ends_on)


def _open_licence_withdrawn(state: PatentState, event: ev.OpenLicenceWithdrawn) -> None:
    assert state.open_licence is not None, "rules check INV-7 before a withdrawal"
    state.open_licence.withdrawn_on = event.effective_on


def _open_licence_taken(state: PatentState, event: ev.OpenLicenceTaken) -> None:
    declared = state.open_licence
    assert declared is not None, "rules check INV-7 before a take-up"
    state.licences[event.deal_id] = LicenceRecord(
        deal_id=event.deal_id,
        licensors=tuple(state.owners),
        licensee=event.licensee,
        kind="ordinary",  # Patent Law Art. 51: an open-licence take-up is an ordinary licence
        territory="CN",
        field="*",
        starts_on=event.effective_on,
        ends_on=declared.ends_on,
        sublicensable=False,
        parent=None,
        granted_by_owners=frozenset(state.owners),
        open_licence=True,
    )


def _pledged(state: PatentState, event: ev.PledgeRegistered) -> None:
    state.pledges[event.deal_id] = PledgeRecord(
        deal_id=event.deal_id,
        pledgors=tuple(event.pledgors),
        pledgee=event.pledgee,
        secured_amount=event.secured_amount,
        due_on=event.due_on,
        registered_on=event.effective_on,
    )


def _released(state: PatentState, event: ev.PledgeReleased) -> None:
    pledge = state.pledges[event.pledge]
    pledge.status, pledge.ended_on = "released", event.effective_on


def _defaulted(state: PatentState, event: ev.LoanDefaulted) -> None:
    pledge = state.pledges[event.pledge]
    pledge.status, pledge.defaulted_on = "defaulted", event.effective_on
    pledge.outstanding = event.outstanding


def _disposed(state: PatentState, event: ev.PledgeDisposed) -> None:
    pledge = state.pledges[event.pledge]
    pledge.status, pledge.ended_on = "disposed", event.effective_on
    if event.to_parties:
        state.owners = dict(event.to_parties)
    if event.licensee is not None and event.licence_kind is not None \
            and event.licence_starts_on is not None and event.licence_ends_on is not None:
        # Issue 19: the licence a disposal grants (to a third party, or back to the pledgor
        # under 收购许可) is a licence like any other, granted by the owners after it.
        record = state.licences[event.deal_id] = LicenceRecord(
            deal_id=event.deal_id, licensors=tuple(state.owners), licensee=event.licensee,
            kind=event.licence_kind, territory=DISPOSAL_LICENCE_SCOPE[0],
            field=DISPOSAL_LICENCE_SCOPE[1],
            starts_on=event.licence_starts_on, ends_on=event.licence_ends_on,
            sublicensable=False, parent=None, granted_by_owners=frozenset(state.owners))
        if record.kind != "ordinary":
            state.exclusive_or_sole[event.deal_id] = record


# --- issue 19 (pledges) --------------------------------------------------------------------


def _pledge_changed(state: PatentState, event: ev.PledgeChanged) -> None:
    pledge = state.pledges[event.pledge]
    if event.due_on is not None:
        pledge.due_on = event.due_on
    if event.secured_amount is not None:
        pledge.secured_amount = event.secured_amount
    pledge.changes += 1


def _risk_paid(state: PatentState, event: ev.RiskPaymentMade) -> None:
    pledge = state.pledges[event.pledge]
    currency = event.amount.currency
    pledge.compensated[currency] = pledge.compensated.get(currency, Decimal(0)) \
        + event.amount.amount


# --- end issue 19 (pledges) ----------------------------------------------------------------


# --- issue 18 (pools) ------------------------------------------------------------------------


def _pool_entered(state: PatentState, event: ev.PoolEntered) -> None:
    state.pools[event.pool] = PoolMembership(
        pool=event.pool, deal_id=event.deal_id, administrator=event.administrator,
        field=event.pool_field, starts_on=event.starts_on, ends_on=event.ends_on)


def _pool_exited(state: PatentState, event: ev.PoolExited) -> None:
    state.pools[event.pool].exited_on = event.effective_on


def _classified(state: PatentState, event: ev.PatentClassified) -> None:
    state.ipc = tuple(event.ipc)


# --- end issue 18 (pools) --------------------------------------------------------------------


_APPLY: dict[type[ev.LedgerEvent], Callable[[PatentState, Any], None]] = {
    ev.PatentStatusChanged: _status_changed,
    ev.PatentTermExtended: _term_extended,
    ev.OwnershipTransferred: _transferred,
    ev.EquityContributed: _contributed,
    ev.LicenceGranted: _licence_granted,
    ev.LicenceTerminated: _licence_terminated,
    ev.OpenLicenceDeclared: _open_licence_declared,
    ev.OpenLicenceWithdrawn: _open_licence_withdrawn,
    ev.OpenLicenceTaken: _open_licence_taken,
    ev.PledgeRegistered: _pledged,
    ev.PledgeReleased: _released,
    ev.LoanDefaulted: _defaulted,
    ev.PledgeDisposed: _disposed,
    ev.PoolEntered: _pool_entered,  # issue 18 (pools)
    ev.PoolExited: _pool_exited,
    ev.PatentClassified: _classified,
    ev.PledgeChanged: _pledge_changed,  # issue 19
    ev.RiskPaymentMade: _risk_paid,  # issue 19
}
