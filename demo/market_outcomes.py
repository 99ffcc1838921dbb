"""What the market's licensees make of their licences (issue 18 items 1-2, domain.md
s10.1-10.2): industrialisation reports, patent products and their yearly reports, a few per
thousand deals, each posted right after the licence it rests on."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

OUTCOME_EVERY = 250  # one licence in this many is put to use: about 4 postings per 1,000 deals


class OutcomeFlow:
    """What the market's licensees make of their licences (domain.md s10.1-10.2), drawn with
    a random generator of its own, so the deal flow stays the same for a seed whether or not
    outcomes are asked. One licence in OUTCOME_EVERY is industrialised by its licensee on the
    day it starts (INV-17: a licence in force then); every second of those also gives a
    product filed that day, naming the patent, with a report for its first year; every third
    is also used by a partner under a technical service contract. All lawful in log order:
    nothing in the flow lapses a patent or ends a licence early."""

    def __init__(self, seed: int, enterprises: Callable[[], list[str]]) -> None:
        self._random = random.Random(seed + 18)
        self._enterprises = enterprises
        self._picked = 0
        self._pending: list[tuple[str, dict[str, Any]]] = []

    def note_licence(self, licence: dict[str, Any]) -> None:
        if self._random.randrange(OUTCOME_EVERY):
            return
        self._picked += 1
        number, licensee, day = licence["patents"][0], licence["licensee"], licence["starts_on"]
        self._pending.append((f"/v1/patents/{number}/industrialisation", {
            "report_id": f"ind-{licence['deal_id']}", "party": licensee, "basis": "licence",
            "deal": licence["deal_id"], "started_on": day}))
        if self._picked % 2 == 0:
            product_id = f"prod-{licence['deal_id']}"
            self._pending.append(("/v1/products", {
                "product_id": product_id, "name": f"Product of {licence['deal_id']}",
                "owner": licensee, "patents": [number], "filed_on": day,
                "category": self._random.choice(("equipment", "materials", "devices")),
                "intensive": self._random.random() < 0.3}))
            self._pending.append((f"/v1/products/{product_id}/reports", {
                "year": int(day[:4]), "employees": self._random.randint(5, 400),
                "output_value": {"amount": str(self._random.randint(10, 5_000) * 10_000),
                                 "currency": "CNY"}}))
        if self._picked % 3 == 0:
            partner = self._random.choice(self._enterprises())
            self._pending.append((f"/v1/patents/{number}/industrialisation", {
                "report_id": f"svc-{licence['deal_id']}", "party": partner,
                "basis": "service_contract", "contract_ref": f"TS-{licence['deal_id']}",
                "started_on": day}))

    def next(self) -> tuple[str, dict[str, Any]] | None:
        """The oldest posting waiting (its licence already in the flow), else None."""
        return self._pending.pop(0) if self._pending else None
