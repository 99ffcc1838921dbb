"""The building blocks of the request bodies (`ledger/posting/commands.py`): strict models,
money, holdings and the fields every deal shares (`DealBase`).

Kept apart so that the deal commands (`deal_commands.py`) and the pledge commands
(`pledge_commands.py`) can share them without importing each other's module.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ledger.law.identifiers import parse_patent_number
from ledger.law.values import Money
from ledger.posting.fields import (
    MAX_PATENTS_PER_DEAL,
    Amount,
    Currency,
    Day,
    DealId,
    OfficialRecord,
    PartyId,
    PatentNo,
    Share,
)


class Strict(BaseModel):
    """Booleans are StrictBool: pydantic alone took 0, "yes" and "off" for true or false."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MoneyIn(Strict):
    amount: Amount
    currency: Currency = "CNY"

    def value(self) -> Money:
        return Money(self.amount, self.currency)


class PaidIn(MoneyIn):
    """Money paid over (a recovery, a risk payment): a payment of nothing is no payment."""

    @field_validator("amount")
    @classmethod
    def _above_zero(cls, amount: Decimal) -> Decimal:
        if amount <= 0:
            raise ValueError("an amount paid is above zero")
        return amount


class Holding(Strict):
    party: PartyId
    share: Share


def summed_shares(holdings: list[Holding]) -> dict[str, Decimal]:
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


def distinct(values: list[str], what: str) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError(f"{what} lists the same value twice")
    return values



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
        return distinct(patents, "patents")

    @field_validator("signed_on")
    @classmethod
    def _signed_before_effect(cls, signed_on: date | None, info: ValidationInfo) -> date | None:
        """A field validator, so that it runs only for deals that give signed_on (a model
        validator ran for every deal of a batch)."""
        effective_on = info.data.get("effective_on")  # absent when itself invalid
        if signed_on is not None and effective_on is not None and signed_on > effective_on:
            raise ValueError("signed_on is after effective_on")
        return signed_on

