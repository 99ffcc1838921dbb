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
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ledger.law import data_rules
from ledger.law.classification import MAX_IPC_PER_PATENT, Qualification
from ledger.law.identifiers import parse_patent_number
from ledger.law.values import (
    CreditList,
    ExtensionBasis,
    FindingDecision,
    InvalidationOutcome,
    PartyKind,
    PartySize,
    PatentStatus,
)

# The request bodies of deals live in their own modules (command_base, deal_commands,
# pledge_commands), so this one stays within the house's size; their names stay importable
# from here, where api/, the engine and the tests import them.
from ledger.posting.command_base import (
    DealBase,
    Holding,
    MoneyIn,
    PaidIn,
    Strict,
    distinct,
    summed_shares,
)
from ledger.posting.deal_commands import (
    EquityContributionDeal,
    Fee,
    LicenceDeal,
    LicenceTerminationDeal,
    OpenLicenceDeclarationDeal,
    OpenLicenceTakeUpDeal,
    OpenLicenceWithdrawalDeal,
    PoolEntryDeal,
    PoolExitDeal,
    TransferDeal,
)
from ledger.posting.fields import (
    MAX_INVENTORS,
    MAX_PARTIES_PER_SIDE,
    Day,
    DealId,
    FreeText,
    Inventor,
    IpcSymbol,  # issue 18 (pools)
    Name,
    PartyId,
    PatentNo,
    Region,
    ShortName,
    Statement,
    WholeNumber,
)
from ledger.posting.pledge_commands import (
    LICENSING,
    MAX_TRADEMARKS,
    TITLE_STAYS,
    DefaultDeal,
    DisposalDeal,
    DisposalLicence,
    MixedCollateral,
    PledgeChangeDeal,
    PledgeDeal,
    PledgeReleaseDeal,
    RiskEventCommand,
)

__all__ = [
    "DEAL",
    "LICENSING",
    "MAX_BATCH",
    "MAX_EXTENSION_DAYS",
    "MAX_TRADEMARKS",
    "TITLE_STAYS",
    "ClassificationCommand",
    "DealBase",
    "DealBatch",
    "DealCommand",
    "DefaultDeal",
    "DisposalDeal",
    "DisposalLicence",
    "EquityContributionDeal",
    "Fee",
    "FindingCommand",
    "Holding",
    "InventorsCommand",
    "LicenceDeal",
    "LicenceTerminationDeal",
    "ListingCommand",
    "ListingEndCommand",
    "MixedCollateral",
    "MoneyIn",
    "OpenLicenceDeclarationDeal",
    "OpenLicenceTakeUpDeal",
    "OpenLicenceWithdrawalDeal",
    "PaidIn",
    "PartyCommand",
    "PatentCommand",
    "PledgeChangeDeal",
    "PledgeDeal",
    "PledgeReleaseDeal",
    "PoolCommand",
    "PoolEntryDeal",
    "PoolExitDeal",
    "QualificationCommand",
    "RecoveryCommand",
    "RiskEventCommand",
    "SizeCommand",
    "StatusCommand",
    "Strict",
    "SubsidyCommand",
    "TermExtensionCommand",
    "TransferDeal",
    "distinct",
    "summed_shares",
]


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
        return None if ipc is None else distinct(ipc, "ipc")

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
        summed_shares(owners)
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

# --- Deals: every kind, in one discriminated union ------------------------------------


DealCommand: TypeAlias = Annotated[
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

# One deal validated on its own (the demo loader, the USPTO importer). The alias goes in as
# `Any`: mypy, reading it back from its incremental cache, sees a bare union and refuses it.
_DEAL_FORM: Any = DealCommand
DEAL: TypeAdapter[Any] = TypeAdapter(_DEAL_FORM)

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

    amount: PaidIn
    recovered_on: Day
    grounds: Statement


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
        return distinct(ipc, "ipc")


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
