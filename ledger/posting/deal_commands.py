"""The request bodies of deals (`POST /v1/deals`, `/v1/deals/batch`): transfers, equity
contributions, licences, open licences and (issue 18) pool entries and exits, the pledge ones
are in `pledge_commands.py`; `commands.py` joins them all in `DealCommand`.

Checked for shape only, like every command (`ledger/posting/commands.py`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, ValidationInfo, field_validator, model_validator

from ledger.law import data_rules
from ledger.law.values import Consideration, FeeMode, LicenceKind
from ledger.posting.command_base import DealBase, Holding, MoneyIn, Strict, distinct, summed_shares
from ledger.posting.fields import (
    MAX_PARTIES_PER_SIDE,
    Day,
    DealId,
    PartyId,
    Rate,
    Share,
    ShortName,
    Territory,
)


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
        summed_shares(holdings)
        givers = info.data.get("from_parties")  # absent when itself invalid
        if givers is not None:
            data_rules.receivers_are_not_the_givers(givers, (h.party for h in holdings))
        return holdings

    @field_validator("from_parties")
    @classmethod
    def _from_once(cls, parties: list[str]) -> list[str]:
        return distinct(parties, "from_parties")


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
