"""What platforms and regulators may post, checked for shape before the ledger sees it.

These pydantic models are the request bodies of the REST API (architecture.md s3). They check
everything that needs no register: identifiers and their check characters, money, shares that
sum to 1, dates in order, and the limits below. A failure is a 422 listing field paths; the
rules that need the register (`ledger/law/rules.py`) come after, in the writer.

Every value is one of the field types of `ledger/posting/fields.py`, which carry their own checks (no
field takes a bare `str`); the data rules of `ledger/law/data_rules.py` run here too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ledger.law import data_rules
from ledger.law.classification import MAX_IPC_PER_PATENT, Qualification
from ledger.law.identifiers import parse_patent_number
from ledger.law.values import (
    Consideration,
    CreditList,
    DisposalMode,
    ExtensionBasis,
    FeeMode,
    FindingDecision,
    InvalidationOutcome,
    LicenceKind,
    Money,
    PartyKind,
    PartySize,
    PatentStatus,
    RiskKind,
)
from ledger.posting.fields import (
    MAX_INVENTORS,
    MAX_PARTIES_PER_SIDE,
    MAX_PATENTS_PER_DEAL,
    Amount,
    Currency,
    Day,
    DealId,
    FreeText,
    Inventor,
    IpcSymbol,  # issue 18 (pools)
    Name,
    OfficialRecord,
    PartyId,
    PatentNo,
    Rate,
    Region,
    Share,
    ShortName,
    Statement,
    Territory,
    WholeNumber,
)


class Strict(BaseModel):
    """Booleans are StrictBool: pydantic alone took 0, "yes" and "off" for true or false."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MoneyIn(Strict):
    amount: Amount
    currency: Currency = "CNY"

    def value(self) -> Money:
        return Money(self.amount, self.currency)


class Holding(Strict):
    party: PartyId
    share: Share


def _shares(holdings: list[Holding]) -> dict[str, Decimal]:
    """Owners and shares that sum to exactly 1, each party once."""
    seen: dict[str, Decimal] = {}
    for holding in holdings:
        if holding.party in seen:
            raise ValueError(f"party {holding.party} is named twice")
        seen[holding.party] = holding.share
    total = sum(seen.values(), Decimal(0))
    if total != 1:
        raise ValueError(f"shares sum to {total}, not 1")
    return seen


def _distinct(values: list[str], what: str) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError(f"{what} lists the same value twice")
    return values


# --- Registry ---------------------------------------------------------------------------


class PartyCommand(Strict):
    id: PartyId
    name: Name
    kind: PartyKind
    size: PartySize | None = None
    state_owned: StrictBool | None = None
    region: Region | None = None
    founded_on: Day | None = None
    related_to: list[PartyId] = Field(default_factory=list, max_length=MAX_PARTIES_PER_SIDE)

    @field_validator("founded_on")
    @classmethod
    def _founded_by_today(cls, founded_on: date | None) -> date | None:
        if founded_on is not None:
            data_rules.founded_by_today(founded_on, datetime.now(UTC).date())
        return founded_on


class PatentCommand(Strict):
    """Without `granted_on` the patent is registered as an application (status "pending",
    domain.md s9); its grant is recorded later as a status change to "granted"."""

    number: PatentNo
    title: Name
    filed_on: Day
    granted_on: Day | None = None
    owners: list[Holding] = Field(min_length=1, max_length=MAX_PARTIES_PER_SIDE)
    kind: Literal["invention", "utility_model", "design"] | None = None
    status: Literal["pending", "granted"] | None = None  # optional: follows from granted_on
    # issue 18 (pools): IPC symbols, stored as the patent's first classification
    ipc: list[IpcSymbol] | None = Field(default=None, max_length=MAX_IPC_PER_PATENT)

    @field_validator("ipc")
    @classmethod
    def _ipc_once(cls, ipc: list[str] | None) -> list[str] | None:
        return None if ipc is None else _distinct(ipc, "ipc")

    @field_validator("filed_on")
    @classmethod
    def _filed_in_the_numbers_year(cls, filed_on: date, info: ValidationInfo) -> date:
        number = info.data.get("number")  # absent when itself invalid
        if number is not None:
            data_rules.number_year_is_filing_year(parse_patent_number(number), filed_on)
        return filed_on

    @field_validator("owners")
    @classmethod
    def _owner_shares(cls, owners: list[Holding]) -> list[Holding]:
        _shares(owners)
        return owners

    @model_validator(mode="after")
    def _dates_and_kind(self) -> PatentCommand:
        if self.granted_on is not None and self.granted_on < self.filed_on:
            raise ValueError("granted_on is before filed_on")
        if self.status == "pending" and self.granted_on is not None:
            raise ValueError("a pending application has no granted_on")
        if self.status == "granted" and self.granted_on is None:
            raise ValueError("a granted patent states granted_on")
        inferred = parse_patent_number(self.number).kind
        if inferred is not None and self.kind is not None and self.kind != inferred.value:
            raise ValueError(f"kind {self.kind!r} contradicts number {self.number} ({inferred})")
        if inferred is None and self.kind is None:
            raise ValueError("kind is required for a foreign patent number")
        return self

    def patent_kind(self) -> str:
        inferred = parse_patent_number(self.number).kind
        return inferred.value if inferred is not None else str(self.kind)


class StatusCommand(Strict):
    status: PatentStatus
    effective_on: Day
    reason: FreeText | None = None
    outcome: InvalidationOutcome | None = None  # only, and always, with invalidation_decided

    @model_validator(mode="after")
    def _outcome_with_decision(self) -> StatusCommand:
        deciding = self.status == PatentStatus.INVALIDATION_DECIDED
        if deciding and self.outcome is None:
            raise ValueError("invalidation_decided needs an outcome: upheld, "
                             "partially_invalidated or invalidated")
        if not deciding and self.outcome is not None:
            raise ValueError("outcome goes only with status invalidation_decided")
        return self


MAX_EXTENSION_DAYS = 7_305  # twenty years: longer than any term it could compensate


class TermExtensionCommand(Strict):
    """Term compensation (Patent Law Art. 42(2)-(3)): `days` added to the expiry."""

    extension_id: DealId
    days: WholeNumber = Field(gt=0, le=MAX_EXTENSION_DAYS)
    basis: ExtensionBasis
    effective_on: Day


class InventorsCommand(Strict):
    inventors: Annotated[list[Inventor], Field(min_length=1, max_length=MAX_INVENTORS)]
    effective_on: Day
    reason: FreeText | None = None


# --- Deals ------------------------------------------------------------------------------


class DealBase(Strict):
    deal_id: DealId
    effective_on: Day
    signed_on: Day | None = None
    patents: list[PatentNo] = Field(default_factory=list, max_length=MAX_PATENTS_PER_DEAL)
    corrects: DealId | None = None
    registered_on: Day | None = None  # the day an IP office recorded it, when it did
    # Issue 19 (domain.md s11.4): who arranged the deal (parties of kind agency, or an
    # individual) and the CNIPA number of its record (登记号 / 备案号).
    agency: PartyId | None = None
    platform: PartyId | None = None
    technology_manager: PartyId | None = None
    official_record: OfficialRecord | None = None
    # Whether the deal takes effect on its registration for a Chinese patent (domain.md s9).
    TAKES_EFFECT_ON_REGISTRATION: ClassVar[bool] = False

    @field_validator("registered_on")
    @classmethod
    def _chinese_effect_on_registration(cls, registered_on: date | None,
                                        info: ValidationInfo) -> date | None:
        """For a Chinese patent a transfer or a pledge takes effect on its registration
        (Patent Law Art. 10, Civil Code Art. 444): effective_on is that day, so another
        registered_on contradicts it. A field validator: it runs only when one is given."""
        effective_on = info.data.get("effective_on")  # absent when itself invalid
        if registered_on is None or effective_on is None or registered_on == effective_on \
                or not cls.TAKES_EFFECT_ON_REGISTRATION:
            return registered_on
        if any(parse_patent_number(n).scheme == "CN" for n in info.data.get("patents", ())):
            raise ValueError(
                f"for a Chinese patent this deal takes effect on its registration (Patent Law "
                f"Art. 10, Civil Code Art. 444): registered_on {registered_on} must equal "
                f"effective_on {effective_on}")
        return registered_on

    @field_validator("patents")
    @classmethod
    def _patents_once(cls, patents: list[str]) -> list[str]:
        return _distinct(patents, "patents")

    @field_validator("signed_on")
    @classmethod
    def _signed_before_effect(cls, signed_on: date | None, info: ValidationInfo) -> date | None:
        """A field validator, so that it runs only for deals that give signed_on (a model
        validator ran for every deal of a batch)."""
        effective_on = info.data.get("effective_on")  # absent when itself invalid
        if signed_on is not None and effective_on is not None and signed_on > effective_on:
            raise ValueError("signed_on is after effective_on")
        return signed_on


class TransferDeal(DealBase):
    TAKES_EFFECT_ON_REGISTRATION = True
    kind: Literal["transfer"]
    from_parties: list[PartyId] = Field(min_length=1, max_length=MAX_PARTIES_PER_SIDE)
    to_parties: list[Holding] = Field(min_length=1, max_length=MAX_PARTIES_PER_SIDE)
    price: MoneyIn | None = None
    consideration: Consideration
    pledgee_consent: StrictBool = False

    @field_validator("to_parties")
    @classmethod
    def _to_shares(cls, holdings: list[Holding], info: ValidationInfo) -> list[Holding]:
        _shares(holdings)
        givers = info.data.get("from_parties")  # absent when itself invalid
        if givers is not None:
            data_rules.receivers_are_not_the_givers(givers, (h.party for h in holdings))
        return holdings

    @field_validator("from_parties")
    @classmethod
    def _from_once(cls, parties: list[str]) -> list[str]:
        return _distinct(parties, "from_parties")


class EquityContributionDeal(DealBase):
    TAKES_EFFECT_ON_REGISTRATION = True  # a transfer of the right to the company (Art. 10)
    kind: Literal["equity_contribution"]
    from_parties: list[PartyId] = Field(min_length=1, max_length=MAX_PARTIES_PER_SIDE)
    company: PartyId
    valuation: MoneyIn | None = None  # INV-15 refuses a contribution without one
    equity_share: Share | None = None
    pledgee_consent: StrictBool = False

    @field_validator("company")
    @classmethod
    def _not_only_giver(cls, company: str, info: ValidationInfo) -> str:
        givers = info.data.get("from_parties")  # absent when itself invalid
        if givers is not None:
            data_rules.receivers_are_not_the_givers(givers, [company])
        return company


class Fee(Strict):
    mode: FeeMode
    amount: MoneyIn | None = None
    rate: Rate | None = None

    @model_validator(mode="after")
    def _mode_fits(self) -> Fee:
        if self.mode == FeeMode.FREE and (self.amount is not None and self.amount.amount > 0):
            raise ValueError("a free licence has no fee amount")
        if self.mode == FeeMode.ROYALTY and self.rate is None and self.amount is None:
            raise ValueError("a royalty needs a rate or an amount")
        return self


class LicenceDeal(DealBase):
    kind: Literal["licence"]
    licensors: list[PartyId] = Field(min_length=1, max_length=MAX_PARTIES_PER_SIDE)
    licensee: PartyId
    licence_kind: LicenceKind | None = None  # required, but for a pool licence: ordinary
    territory: Territory
    field: ShortName
    starts_on: Day
    ends_on: Day
    fee: Fee
    sublicensable: StrictBool = False
    parent_licence: DealId | None = None
    filed_on: Day | None = None
    pledgee_consent: StrictBool = False
    pool: DealId | None = None  # issue 18 (pools): a pool licence, by the pool's administrator

    @model_validator(mode="after")
    def _term_in_order(self) -> LicenceDeal:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        if self.licensee in self.licensors:
            raise ValueError("the licensee is also a licensor")
        if self.licence_kind is None and self.pool is None:
            raise ValueError("licence_kind is required (only a pool licence is ordinary "
                             "unless stated)")
        return self


class LicenceTerminationDeal(DealBase):
    kind: Literal["licence_termination"]
    licence: DealId


class OpenLicenceDeclarationDeal(DealBase):
    kind: Literal["open_licence_declaration"]
    owners: list[PartyId] = Field(min_length=1, max_length=MAX_PARTIES_PER_SIDE)
    fee: Fee
    starts_on: Day
    ends_on: Day
    pledgee_consent: StrictBool = False
    # 专利权评价报告: required of a utility model or design (INV-7, Patent Law Art. 50).
    evaluation_report: ShortName | None = None

    @model_validator(mode="after")
    def _term_in_order(self) -> OpenLicenceDeclarationDeal:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class OpenLicenceWithdrawalDeal(DealBase):
    kind: Literal["open_licence_withdrawal"]
    owners: list[PartyId] = Field(min_length=1, max_length=MAX_PARTIES_PER_SIDE)


class OpenLicenceTakeUpDeal(DealBase):
    kind: Literal["open_licence_take_up"]
    licensee: PartyId


MAX_TRADEMARKS = 10_000  # trademarks pledged beside the patents in one mixed pledge


class MixedCollateral(Strict):
    """Issue 19: what is pledged with the patents (专利商标混合质押): trademarks, and other
    collateral described in words."""

    trademarks: WholeNumber = Field(default=0, ge=0, le=MAX_TRADEMARKS)
    other: Statement | None = None

    @model_validator(mode="after")
    def _something(self) -> MixedCollateral:
        if self.trademarks == 0 and self.other is None:
            raise ValueError("mixed_collateral names trademarks (a count above 0) or other")
        return self


class PledgeDeal(DealBase):
    TAKES_EFFECT_ON_REGISTRATION = True
    kind: Literal["pledge"]
    pledgors: list[PartyId] = Field(min_length=1, max_length=MAX_PARTIES_PER_SIDE)
    pledgee: PartyId
    # Required for Chinese patents (a CNIPA pledge registration states both); a foreign
    # office's record (a US security interest) may disclose neither.
    secured_amount: MoneyIn | None = None
    due_on: Day | None = None
    # The parties know of a pending invalidation request (2021 measures art. 12; INV-4).
    invalidation_acknowledged: StrictBool = False
    # Issue 19 (domain.md s11.1): the debt the pledge secures.
    debtor: PartyId | None = None  # who borrowed, when not the pledgor
    guarantors: list[PartyId] = Field(default_factory=list, max_length=MAX_PARTIES_PER_SIDE)
    insurer: PartyId | None = None
    mixed_collateral: MixedCollateral | None = None  # 专利商标混合质押

    @model_validator(mode="after")
    def _due_after_effect(self) -> PledgeDeal:
        chinese = [n for n in self.patents if parse_patent_number(n).scheme == "CN"]
        if (chinese or not self.patents) and (self.secured_amount is None or self.due_on is None):
            raise ValueError("a pledge of Chinese patents states secured_amount and due_on")
        if self.due_on is not None and self.due_on < self.effective_on:
            raise ValueError("due_on is before effective_on")
        if self.debtor is not None and self.debtor in self.pledgors:
            raise ValueError("debtor names a pledgor: name a debtor only when it is not one")
        _distinct(self.guarantors, "guarantors")
        return self


class PledgeReleaseDeal(DealBase):
    kind: Literal["pledge_release"]
    pledge: DealId


class DefaultDeal(DealBase):
    kind: Literal["default"]
    pledge: DealId
    outstanding: MoneyIn


class DisposalLicence(Strict):
    """Issue 19: the licence a disposal grants: to a third party (`licence_to_third_party`),
    or back to the pledgor after an acquisition (`acquisition_with_licence_back`, 收购许可)."""

    licensee: PartyId
    licence_kind: LicenceKind = LicenceKind.ORDINARY
    starts_on: Day
    ends_on: Day

    @model_validator(mode="after")
    def _term_in_order(self) -> DisposalLicence:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


# Issue 19: the disposal modes that leave title where it is, and those that grant a licence.
TITLE_STAYS = frozenset({DisposalMode.REVERSE_LICENCE, DisposalMode.LICENCE_TO_THIRD_PARTY})
LICENSING = frozenset({DisposalMode.LICENCE_TO_THIRD_PARTY,
                       DisposalMode.ACQUISITION_WITH_LICENCE_BACK})


class DisposalDeal(DealBase):
    kind: Literal["disposal"]
    pledge: DealId
    mode: DisposalMode
    proceeds: MoneyIn
    to_parties: list[Holding] = Field(default_factory=list, max_length=MAX_PARTIES_PER_SIDE)
    valuation: MoneyIn | None = None
    licence: DisposalLicence | None = None  # issue 19: with the two licensing modes only

    @field_validator("to_parties")
    @classmethod
    def _to_shares(cls, holdings: list[Holding]) -> list[Holding]:
        if holdings:
            _shares(holdings)
        return holdings

    @model_validator(mode="after")
    def _title_needs_owner(self) -> DisposalDeal:
        moves_title = self.mode not in TITLE_STAYS
        if moves_title and not self.to_parties:
            raise ValueError(f"a disposal by {self.mode.value} moves title: name to_parties")
        if not moves_title and self.to_parties:
            raise ValueError(f"a disposal by {self.mode.value} leaves title with the pledgor: "
                             "no to_parties")
        if self.mode in LICENSING and self.licence is None:
            raise ValueError(f"a disposal by {self.mode.value} grants a licence: name licence")
        if self.mode not in LICENSING and self.licence is not None:
            raise ValueError(f"a disposal by {self.mode.value} grants no licence")
        if self.mode == DisposalMode.EQUITY_CONTRIBUTION and len(self.to_parties) != 1:
            raise ValueError("an equity contribution names one company in to_parties")
        return self


# --- issue 18 (pools): pool entries and exits ------------------------------------------------


class PoolEntryDeal(DealBase):
    """Patents enter a pool, by all their owners (INV-2), from `starts_on`."""

    kind: Literal["pool_entry"]
    pool: DealId
    owners: list[PartyId] = Field(min_length=1, max_length=MAX_PARTIES_PER_SIDE)
    starts_on: Day
    ends_on: Day | None = None

    @model_validator(mode="after")
    def _term_in_order(self) -> PoolEntryDeal:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class PoolExitDeal(DealBase):
    """Patents leave a pool, by all their owners (INV-2), on `effective_on`."""

    kind: Literal["pool_exit"]
    pool: DealId
    owners: list[PartyId] = Field(min_length=1, max_length=MAX_PARTIES_PER_SIDE)


# --- end issue 18 (pools) --------------------------------------------------------------------
# --- issue 19 (pledges): pledge changes and risk sharing -----------------------------------


class PledgeChangeDeal(DealBase):
    """A pledge's due date extended or its secured amount changed (domain.md s11.2)."""

    kind: Literal["pledge_change"]
    pledge: DealId
    due_on: Day | None = None
    secured_amount: MoneyIn | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> PledgeChangeDeal:
        if self.due_on is None and self.secured_amount is None:
            raise ValueError("a pledge change names due_on, secured_amount or both")
        if self.due_on is not None and self.due_on < self.effective_on:
            raise ValueError("due_on is before effective_on")
        return self


class RiskEventCommand(Strict):
    """POST /v1/risk-events: a risk-sharing payment towards a pledged loan (domain.md s11.3)."""

    event_id: DealId
    pledge: DealId
    kind: RiskKind
    payer: PartyId
    amount: MoneyIn
    paid_on: Day

    @field_validator("amount")
    @classmethod
    def _above_zero(cls, amount: MoneyIn) -> MoneyIn:
        if amount.amount <= 0:
            raise ValueError("a risk payment pays an amount above zero")
        return amount


# --- end issue 19 (pledges) ----------------------------------------------------------------


DealCommand = Annotated[
    TransferDeal
    | EquityContributionDeal
    | LicenceDeal
    | LicenceTerminationDeal
    | OpenLicenceDeclarationDeal
    | OpenLicenceWithdrawalDeal
    | OpenLicenceTakeUpDeal
    | PledgeDeal
    | PledgeReleaseDeal
    | DefaultDeal
    | DisposalDeal
    | PoolEntryDeal  # issue 18 (pools)
    | PoolExitDeal
    | PledgeChangeDeal,  # issue 19
    Field(discriminator="kind"),
]

MAX_BATCH = 1_000


class DealBatch(Strict):
    deals: list[DealCommand] = Field(min_length=1, max_length=MAX_BATCH)
    atomic: StrictBool = False


# --- Regulators -------------------------------------------------------------------------


class SubsidyCommand(Strict):
    subsidy_id: DealId
    party: PartyId
    programme: Name
    amount: MoneyIn
    awarded_on: Day
    deals: list[DealId] = Field(default_factory=list, max_length=MAX_BATCH)


class ListingCommand(Strict):
    listing_id: DealId
    party: PartyId
    list: CreditList
    grounds: Statement
    starts_on: Day
    ends_on: Day | None = None

    @model_validator(mode="after")
    def _term_in_order(self) -> ListingCommand:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class ListingEndCommand(Strict):
    ended_on: Day | None = None


class FindingCommand(Strict):
    decision: FindingDecision
    note: FreeText = ""


# --- issue 17 (credit): subsidy recovery -------------------------------------------------


class RecoveryCommand(Strict):
    """POST /v1/subsidies/{id}/recovery: a regulator recovers (claws back) part or all of a
    subsidy. No id of its own: the same body posted again is the same recovery (idempotent);
    a second recovery of the same amount on the same day names other grounds."""

    amount: MoneyIn
    recovered_on: Day
    grounds: Statement

    @field_validator("amount")
    @classmethod
    def _above_zero(cls, amount: MoneyIn) -> MoneyIn:
        if amount.amount <= 0:
            raise ValueError("a recovery returns an amount above zero")
        return amount


# --- issue 18 (pools): pools, classification, qualifications, sizes --------------------------


class PoolCommand(Strict):
    """POST /v1/pools: a patent pool and its administrator; `field` "*" is every field."""

    pool_id: DealId
    name: Name
    administrator: PartyId
    field: ShortName = "*"
    formed_on: Day


class ClassificationCommand(Strict):
    """POST /v1/patents/{number}/classification: the patent's IPC symbols from
    `effective_on` (default: today), replacing any earlier list."""

    ipc: list[IpcSymbol] = Field(min_length=1, max_length=MAX_IPC_PER_PATENT)
    effective_on: Day | None = None

    @field_validator("ipc")
    @classmethod
    def _ipc_once(cls, ipc: list[str]) -> list[str]:
        return _distinct(ipc, "ipc")


class QualificationCommand(Strict):
    """POST /v1/parties/{id}/qualifications: a dated qualification (`to` absent: open)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    qualification: Qualification
    valid_from: Day = Field(alias="from")
    valid_to: Day | None = Field(default=None, alias="to")
    certificate: ShortName | None = None

    @model_validator(mode="after")
    def _term_in_order(self) -> QualificationCommand:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("to is before from")
        return self


class SizeCommand(Strict):
    """POST /v1/parties/{id}/size: the party's size class from `effective_on`."""

    size: PartySize
    effective_on: Day
