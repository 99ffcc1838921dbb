"""The request bodies of pledge finance: pledges, releases, defaults and disposals, and
(issue 19, domain.md s11) pledge changes and risk-sharing payments.

Checked for shape only, like every command (`ledger/posting/commands.py`); the rules that
need the register (INV-9 to INV-12) come after, in the writer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from ledger.law.identifiers import parse_patent_number
from ledger.law.values import DisposalMode, LicenceKind, RiskKind
from ledger.posting.command_base import (
    DealBase,
    Holding,
    MoneyIn,
    PaidIn,
    Strict,
    distinct,
    summed_shares,
)
from ledger.posting.fields import (
    MAX_PARTIES_PER_SIDE,
    Day,
    DealId,
    PartyId,
    Statement,
    WholeNumber,
)

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
        distinct(self.guarantors, "guarantors")
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
            summed_shares(holdings)
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
    amount: PaidIn
    paid_on: Day


# --- end issue 19 (pledges) ----------------------------------------------------------------
