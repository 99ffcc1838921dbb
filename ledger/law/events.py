"""The ledger's events: immutable facts, one class per row of domain.md section 4.

Every class carries an explicit, stable `TOPIC`: eventsourcing stores that string with each
event, so renaming or moving a class never breaks the stored log (architecture.md s2).
Once an event has been stored its class may gain optional fields, never lose or rename one.

Common envelope: `effective_on` (the legal date), `timestamp` (recorded_at, set by the ledger
when it stores the event, never by a client) and `posted_by` (role and key id of the poster).
Deal events also carry `deal_id`, `signed_on`, `patents`, the request `fingerprint` that makes
posting idempotent, and `corrects`, the deal a correction compensates (INV-16).
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import date
from decimal import Decimal
from hashlib import sha1
from typing import Any, ClassVar, Self, dataclass_transform
from uuid import NAMESPACE_URL, UUID, SafeUUID, uuid5

from eventsourcing.domain import DomainEvent, MetaDomainEvent
from eventsourcing.utils import register_topic

from ledger.law.values import Money

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:patent-ledger")
_NAMESPACE_BYTES = _NAMESPACE.bytes
_KEEP = ~((0xC000 << 48) | (0xF000 << 64))  # clears the variant and version bits
_VERSION_5 = (0x8000 << 48) | (5 << 76)


def stream_id(kind: str, key: str) -> UUID:
    """The aggregate id of a party, patent, deal, subsidy, listing or finding.

    Exactly `uuid5(_NAMESPACE, f"{kind}:{key}")` (a test holds it to that), computed without
    `uuid5`'s own overhead: one is derived for every deal posted.
    """
    return uuid_of(stream_number(kind, key))


def stream_number(kind: str, key: str) -> int:
    """`stream_id(kind, key).int`: the form a prepared deal travels in (a UUID unpickles
    through Python code, an int does not)."""
    digest = sha1(_NAMESPACE_BYTES + f"{kind}:{key}".encode()).digest()
    return int.from_bytes(digest[:16]) & _KEEP | _VERSION_5  # RFC 4122 variant, version 5


def uuid_of(number: int) -> UUID:
    """`UUID(int=number)`, without UUID's own `__init__`, which parses its arguments."""
    made = object.__new__(UUID)
    object.__setattr__(made, "int", number)
    object.__setattr__(made, "is_safe", _UNKNOWN)
    return made


_UNKNOWN = SafeUUID.unknown  # read once: an enum member's lookup costs half a microsecond


@dataclass_transform(frozen_default=True)
class _FrozenEvent(MetaDomainEvent):
    """Tells type checkers what eventsourcing's metaclass does: make a frozen dataclass."""


class LedgerEvent(DomainEvent, metaclass=_FrozenEvent):
    """Base of every stored event (eventsourcing's metaclass makes each a frozen dataclass)."""

    TOPIC: ClassVar[str] = ""
    effective_on: date
    posted_by: str

    @property
    def recorded_at(self) -> Any:
        return self.timestamp

    @classmethod
    def assemble(cls, fields: dict[str, Any], **more: Any) -> Self:
        """The event, made without the frozen dataclass's `__init__` (a guarded attribute
        write per field, about 5 us a deal on the writer's path): the way eventsourcing's
        mapper rebuilds stored events. `fields` and `more` must give every field, and no
        other; `fields` becomes the event's own dictionary (not copied: pass a fresh one)."""
        fields.update(more)
        if fields.keys() != _field_names(cls):
            missing = sorted(_field_names(cls) - fields.keys())
            unknown = sorted(fields.keys() - _field_names(cls))
            raise TypeError(f"{cls.__name__}: missing {missing}, unknown {unknown}")
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", fields)
        return event


@functools.cache
def _field_names(cls: type[LedgerEvent]) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


# --- Registry facts -----------------------------------------------------------------------


class PartyRegistered(LedgerEvent):
    TOPIC = "PartyRegistered"
    party_id: str
    name: str
    party_kind: str
    size: str | None
    state_owned: bool | None
    region: str | None
    founded_on: date | None
    related_to: list[str]
    fingerprint: str


class PatentRegistered(LedgerEvent):
    TOPIC = "PatentRegistered"
    number: str
    title: str
    patent_kind: str
    filed_on: date
    granted_on: date | None  # None: registered as an application (status "pending", s9)
    expires_on: date
    owners: dict[str, Decimal]
    fingerprint: str


class PatentStatusChanged(LedgerEvent):
    """Version 2 (issue 17) added `outcome`, the decision an `invalidation_decided` names
    (upheld, partially_invalidated, invalidated); changes stored before it read as None."""

    TOPIC = "PatentStatusChanged"
    class_version: ClassVar[int] = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["outcome"] = None

    number: str
    status: str
    reason: str | None
    outcome: str | None


class PatentTermExtended(LedgerEvent):
    """Term compensation (Patent Law Art. 42(2)-(3)): `days` added to the patent's expiry,
    for an unreasonable grant delay or a new drug's review time (issue 17)."""

    TOPIC = "PatentTermExtended"
    number: str
    extension_id: str
    days: int
    basis: str  # grant_delay, drug_review
    fingerprint: str


class InventorsChanged(LedgerEvent):
    """A recorded change of the patent's inventors (著录项目变更): watched by AR-11, since
    inventors moved around a transfer can dress a bought patent as in-house R&D."""

    TOPIC = "InventorsChanged"
    number: str
    inventors: list[str]  # the inventors after the change
    reason: str | None


# --- Deals --------------------------------------------------------------------------------


class DealEvent(LedgerEvent):
    """A deal posted by a platform; one event per deal, naming every patent it touches.

    Version 2 (2026-11-26) added `registered_on`; deals stored before it read as None.
    Version 3 (issue 19) added the intermediaries (`agency`, `platform`,
    `technology_manager`) and `official_record`; deals stored before it read as None. A
    class that had reached version 3 on its own takes them at version 4 (`_intermediaries`).
    """

    class_version: ClassVar[int] = 3

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["registered_on"] = None

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        _intermediaries(state)

    deal_id: str
    signed_on: date | None
    patents: list[str]
    fingerprint: str
    corrects: str | None
    # The day an IP office recorded the deal (CNIPA, the USPTO), when known: its own axis,
    # beside signing (`signed_on`), legal effect (`effective_on`) and this ledger's record.
    registered_on: date | None
    # --- issue 19: who arranged the deal, and its official number (domain.md s11.4) ---
    agency: str | None  # a party of kind agency (or an individual): 中介/运营机构
    platform: str | None  # the trading platform or operation centre
    technology_manager: str | None  # 技术经理人
    official_record: str | None  # the CNIPA 登记号 or 备案号 (ledger/law/official_records.py)


def _intermediaries(state: dict[str, Any]) -> None:
    """Issue 19: a deal stored before intermediaries were recorded names none (idempotent,
    so any class's chain of upcasts may call it at the step where it gains them)."""
    for name in ("agency", "platform", "technology_manager", "official_record"):
        state.setdefault(name, None)


class OwnershipTransferred(DealEvent):
    """Version 3 (issue 17) added `applications`: the patents whose application right (not
    yet a patent right, Patent Law Art. 10) the transfer moved, as the register stood."""

    TOPIC = "OwnershipTransferred"
    class_version: ClassVar[int] = 4  # 4 (issue 19): the intermediaries

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state["applications"] = []

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        _intermediaries(state)

    from_parties: list[str]
    to_parties: dict[str, Decimal]
    price: Money | None
    consideration: str
    pledgee_consent: bool
    applications: list[str]


class EquityContributed(DealEvent):
    TOPIC = "EquityContributed"
    from_parties: list[str]
    company: str
    valuation: Money | None
    equity_share: Decimal | None
    pledgee_consent: bool


class LicenceGranted(DealEvent):
    """Version 3 (issue 19) added the intermediaries, as every deal. Version 4 (issue 18,
    pools) added `pool`: a pool licence, granted by the pool's administrator over pooled
    patents (domain.md s10.3); licences stored before it read as None (not a pool licence)."""

    TOPIC = "LicenceGranted"
    class_version: ClassVar[int] = 4

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        _intermediaries(state)

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        state["pool"] = None

    licensors: list[str]
    licensee: str
    licence_kind: str
    territory: str
    field: str
    starts_on: date
    ends_on: date
    fee_mode: str
    fee_amount: Money | None
    fee_rate: Decimal | None
    sublicensable: bool
    parent_licence: str | None
    filed_on: date
    late: bool  # INV-13: filed more than 3 months after it took effect
    pledgee_consent: bool
    pool: str | None = None  # issue 18 (pools): the pool whose administrator grants it


class LicenceTerminated(DealEvent):
    TOPIC = "LicenceTerminated"
    licence: str


class OpenLicenceDeclared(DealEvent):
    """Version 3 (issue 17) added `evaluation_report` (Patent Law Art. 50)."""

    TOPIC = "OpenLicenceDeclared"
    class_version: ClassVar[int] = 4  # 4 (issue 19): the intermediaries

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state["evaluation_report"] = None

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        _intermediaries(state)

    owners: list[str]
    fee_mode: str
    fee_amount: Money | None
    fee_rate: Decimal | None
    starts_on: date
    ends_on: date
    pledgee_consent: bool
    evaluation_report: str | None  # INV-7: a utility model's or design's evaluation report


class OpenLicenceWithdrawn(DealEvent):
    TOPIC = "OpenLicenceWithdrawn"
    owners: list[str]


class OpenLicenceTaken(DealEvent):
    TOPIC = "OpenLicenceTaken"
    licensee: str


class PledgeRegistered(DealEvent):
    """Version 3 (issue 17) added `invalidation_acknowledged`: the parties know of a pending
    invalidation request (2021 pledge-registration measures art. 12). Version 4 (issue 19)
    added the debt (`debtor`, `guarantors`, `insurer`, `mixed_collateral`) and the
    intermediaries; pledges stored before it name none."""

    TOPIC = "PledgeRegistered"
    class_version: ClassVar[int] = 4

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state["invalidation_acknowledged"] = False

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        _intermediaries(state)
        state.update(debtor=None, guarantors=[], insurer=None, mixed_collateral=None)

    pledgors: list[str]
    pledgee: str
    secured_amount: Money | None  # None: not disclosed (foreign records); CN pledges state it
    due_on: date | None
    invalidation_acknowledged: bool
    # --- issue 19: the debt the pledge secures (domain.md s11.1) ---
    debtor: str | None  # who borrowed, when not the pledgor (None: the pledgor)
    guarantors: list[str]
    insurer: str | None
    # 专利商标混合质押: {"trademarks": n, "other": text} pledged together with the patents
    mixed_collateral: dict[str, Any] | None

    def borrower(self) -> str:
        """Who owes the secured debt: the debtor named, else the (first) pledgor (K6)."""
        return self.debtor or self.pledgors[0]


class PledgeReleased(DealEvent):
    TOPIC = "PledgeReleased"
    pledge: str


class LoanDefaulted(DealEvent):
    TOPIC = "LoanDefaulted"
    pledge: str
    outstanding: Money


class PledgeDisposed(DealEvent):
    """INV-11: proceeds go to the claim first; the surplus to the pledgor; a shortfall stays owed.

    Version 3 (issue 19) added the intermediaries, what risk-sharing payments covered of the
    claim (`compensation_covered`: the shortfall is what neither covered) and the licence a
    disposal by `licence_to_third_party` or `acquisition_with_licence_back` grants."""

    TOPIC = "PledgeDisposed"
    class_version: ClassVar[int] = 3

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        _intermediaries(state)
        state.update(compensation_covered=None, licensee=None, licence_kind=None,
                     licence_starts_on=None, licence_ends_on=None)

    pledge: str
    mode: str
    proceeds: Money
    to_parties: dict[str, Decimal]
    valuation: Money | None
    claim_paid: Money
    surplus: Money
    shortfall: Money
    # --- issue 19 (domain.md s11.3) ---
    compensation_covered: Money | None  # None: stored before risk payments were recorded
    licensee: str | None  # the third party, or the pledgor licensed back (收购许可)
    licence_kind: str | None
    licence_starts_on: date | None
    licence_ends_on: date | None


# --- issue 19 (pledges): pledge changes and risk sharing ----------------------------------


class PledgeChanged(DealEvent):
    """A pledge's due date extended or its secured amount changed (domain.md s11.2): one
    event, not a release and a new pledge, so AR-9 never counts it. None: unchanged."""

    TOPIC = "PledgeChanged"
    pledge: str
    due_on: date | None
    secured_amount: Money | None


class RiskPaymentMade(LedgerEvent):
    """A risk-sharing payment towards a pledged loan (domain.md s11.3): a risk-compensation
    fund's pre-compensation (前补偿), a bad-debt deposit (保证金), a guarantor's or insurer's
    payment, or an agency's compensation. Filed on the timeline of the pledge's patents, so
    INV-11 judges it on the pledge as it stood on `effective_on` (the day it was paid)."""

    TOPIC = "RiskPaymentMade"
    event_id: str
    pledge: str
    risk_kind: str  # pre_compensation, bad_debt_deposit, guarantee_payment, ...
    payer: str
    amount: Money
    patents: list[str]  # the pledge's
    fingerprint: str


# --- end issue 19 (pledges) ---------------------------------------------------------------


# --- Regulators' decisions ----------------------------------------------------------------


class SubsidyAwarded(LedgerEvent):
    TOPIC = "SubsidyAwarded"
    subsidy_id: str
    party: str
    programme: str
    amount: Money
    deals: list[str]
    fingerprint: str


# --- issue 17 (credit): subsidy recovery ---------------------------------------------------


class SubsidyRecovered(LedgerEvent):
    """A regulator's recovery (clawback) of a subsidy, or of part of it (domain.md s9).

    `sequence` numbers the subsidy's recoveries from 1 (the idempotency key is
    `recovery:<subsidy_id>:<sequence>`, ledger/law/keys.py); `recovered_total` is what has
    been recovered of the subsidy with this one, so the next recovery is judged against it
    (INV-18) without reading every earlier one."""

    TOPIC = "SubsidyRecovered"
    subsidy_id: str
    party: str
    sequence: int
    amount: Money
    recovered_total: Money
    grounds: str
    fingerprint: str


# --- end issue 17 (credit) ----------------------------------------------------------------


class PartyListed(LedgerEvent):
    TOPIC = "PartyListed"
    listing_id: str
    party: str
    credit_list: str
    grounds: str
    starts_on: date
    ends_on: date | None
    fingerprint: str


class PartyDelisted(LedgerEvent):
    TOPIC = "PartyDelisted"
    listing_id: str
    party: str


class AnomalyFinding(LedgerEvent):
    anomaly_id: str
    note: str
    fingerprint: str


class AnomalyConfirmed(AnomalyFinding):
    TOPIC = "AnomalyConfirmed"


class AnomalyDismissed(AnomalyFinding):
    TOPIC = "AnomalyDismissed"


# --- issue 18 (pools): patent pools, IPC classes, party qualifications and sizes -----------


class PoolFormed(LedgerEvent):
    """A patent pool (专利池, domain.md s10.3): its administrator licenses what owners pool;
    `field` ("*": every field) is what an exclusive licence outside it may not overlap (INV-6).
    `effective_on` is the day it was formed."""

    TOPIC = "PoolFormed"
    pool_id: str
    name: str
    administrator: str
    field: str
    fingerprint: str


class PoolEntered(DealEvent):
    """Patents enter a pool by all their owners (INV-2) from `starts_on`, until `ends_on`
    (None: open-ended) or an exit. The pool's administrator and field are copied from the
    pool when the entry is judged, so a patent's own state can answer INV-2 and INV-6."""

    TOPIC = "PoolEntered"
    pool: str
    owners: list[str]
    starts_on: date
    ends_on: date | None
    administrator: str
    pool_field: str


class PoolExited(DealEvent):
    """Patents leave a pool by all their owners (INV-2) on `effective_on`."""

    TOPIC = "PoolExited"
    pool: str
    owners: list[str]


class PatentClassified(LedgerEvent):
    """The patent's IPC symbols from `effective_on` (at registration or later): the whole
    list, replacing any earlier one."""

    TOPIC = "PatentClassified"
    number: str
    ipc: list[str]
    fingerprint: str


class PartyQualified(LedgerEvent):
    """A qualification the party holds from `valid_from` (its `effective_on`) to `valid_to`
    (None: open), e.g. a high-tech-enterprise certificate (three years)."""

    TOPIC = "PartyQualified"
    party: str
    qualification: str
    valid_from: date
    valid_to: date | None
    certificate: str | None
    fingerprint: str


class PartySizeChanged(LedgerEvent):
    """The party's size class from `effective_on` (micro, small, medium, large)."""

    TOPIC = "PartySizeChanged"
    party: str
    size: str
    fingerprint: str


POOL_EVENTS: tuple[type[LedgerEvent], ...] = (
    PoolFormed, PatentClassified, PartyQualified, PartySizeChanged)

# --- end issue 18 (pools) -------------------------------------------------------------------
# --- issue 18 (outcomes): conversion outcomes and patent products (domain.md s10.1-10.2) ----


class IndustrialisationReported(LedgerEvent):
    """A patent put to use by a licensee, or by a partner under a technical service or
    development contract (Shanghai's categories 7 and 8). `effective_on` is `started_on`;
    `holders` are the patent's owners that day (the holder whose conversion it is: K11's
    holder kind and region), so the read side needs no register to count it."""

    TOPIC = "IndustrialisationReported"
    report_id: str
    number: str
    party: str
    basis: str  # licence, service_contract, development_contract
    category: str  # industrialised_by_licensee or industrialised_by_partner
    contract_ref: str | None
    deal: str | None  # the licence it rests on, when named
    started_on: date
    products: list[str]
    holders: list[str]
    fingerprint: str


class ProductFiled(LedgerEvent):
    """A patent product filed (专利产品备案): its owner, the patents it uses (INV-17 on
    `filed_on`, its `effective_on`), category, and whether it is patent-intensive."""

    TOPIC = "ProductFiled"
    product_id: str
    name: str
    owner: str
    patents: list[str]
    filed_on: date
    category: str | None
    intensive: bool
    fingerprint: str


class ProductReported(LedgerEvent):
    """A product's yearly report: output value and employees (Henan: 专利产品产值, 带动就业人数).
    One per product and year; `effective_on` is the year's last day."""

    TOPIC = "ProductReported"
    product_id: str
    owner: str
    year: int
    output_value: Money
    employees: int
    fingerprint: str


# --- end issue 18 (outcomes) ----------------------------------------------------------------


DEAL_EVENTS: dict[str, type[DealEvent]] = {
    "transfer": OwnershipTransferred,
    "equity_contribution": EquityContributed,
    "licence": LicenceGranted,
    "licence_termination": LicenceTerminated,
    "open_licence_declaration": OpenLicenceDeclared,
    "open_licence_withdrawal": OpenLicenceWithdrawn,
    "open_licence_take_up": OpenLicenceTaken,
    "pledge": PledgeRegistered,
    "pledge_release": PledgeReleased,
    "default": LoanDefaulted,
    "disposal": PledgeDisposed,
    "pool_entry": PoolEntered,  # issue 18 (pools)
    "pool_exit": PoolExited,  # issue 18 (pools)
    "pledge_change": PledgeChanged,  # issue 19
}

ALL_EVENTS: tuple[type[LedgerEvent], ...] = (
    PartyRegistered,
    PatentRegistered,
    PatentStatusChanged,
    InventorsChanged,
    PatentTermExtended,
    *DEAL_EVENTS.values(),
    SubsidyAwarded,
    PartyListed,
    PartyDelisted,
    AnomalyConfirmed,
    AnomalyDismissed,
    SubsidyRecovered,  # issue 17 (credit)
    *POOL_EVENTS,  # issue 18 (pools)
    RiskPaymentMade,  # issue 19
    IndustrialisationReported,  # issue 18 (outcomes)
    ProductFiled,  # issue 18 (outcomes)
    ProductReported,  # issue 18 (outcomes)
)

for _cls in ALL_EVENTS:
    register_topic(_cls.TOPIC, _cls)
