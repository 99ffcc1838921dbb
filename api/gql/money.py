"""Money and fees as GraphQL shows them: amounts as decimal strings, never floats."""

from __future__ import annotations

from typing import Any

import strawberry

from ledger.law.values import Money as MoneyValue


@strawberry.type
class Money:
    amount: str
    currency: str

    @staticmethod
    def of(value: MoneyValue | None) -> Money | None:
        return None if value is None else Money(amount=str(value.amount), currency=value.currency)


@strawberry.type
class Fee:
    mode: str
    amount: Money | None
    rate: str | None

    @staticmethod
    def of(fee: dict[str, Any]) -> Fee:
        amount = fee.get("amount")
        return Fee(mode=fee["mode"], rate=fee.get("rate"),
                   amount=None if amount is None else Money(amount=amount["amount"],
                                                            currency=amount["currency"]))
