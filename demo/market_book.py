"""What the market generator (demo/market.py) knows while it writes the flow: its parties by
role, each patent's holder and encumbrances, the day, the deals scheduled for later.

The flow's desks (demo/market.py for licences and transfers, demo/market_finance.py for
pledges, demo/market_pools.py for pools and parties' traits) share this one book, so each
desk checks a deal against the same state the ledger will judge it on (the INV rules) and
keeps the patterns the anomaly rules look for out of the lawful flow.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ledger.law.identifiers import cnid_check_character, uscc_check_character

TITLE_GAP = timedelta(days=400)  # AR-1/AR-2 look within a year
REPLEDGE_GAP = timedelta(days=400)  # AR-9
FAR_PAST = date(2000, 1, 1)

Posting = tuple[str, dict[str, Any]]  # (REST path, body)
DEALS = "/v1/deals"


def party_id(n: int) -> str:
    """The n-th synthetic party's USCC (unified social credit code), with its check character."""
    body = f"91330000{n:09d}"
    return body + uscc_check_character(body)


def person_id(n: int) -> str:
    """The n-th synthetic individual's resident id (a technology manager, 技术经理人)."""
    body = f"330106{1970 + n % 30}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return f"cnid:{body}{cnid_check_character(body)}"


@dataclass
class Holding:
    """One patent as the market sees it: holder, encumbrances and the days they end."""

    number: str
    kind: str
    expires: date
    owner: str
    moved: date = FAR_PAST  # last change of title
    pledge: str | None = None
    pledgee: str | None = None
    pledge_free: date = FAR_PAST  # no new pledge before (after a release)
    licensed_until: date = FAR_PAST
    exclusive_until: date = FAR_PAST
    open_until: date = FAR_PAST
    valuation: int = 0
    pool: str | None = None  # the pool it is in (issue 18)
    pooled_until: date = FAR_PAST  # no exclusive licence before (INV-6 outside a pool)
    ipc: tuple[str, ...] = ()


@dataclass(order=True)
class _Later:
    day: date
    serial: int
    body: dict[str, Any] = field(compare=False)


class Book:
    """The shared state: randomness (one seeded generator), the day, ids, parties by role,
    patents, and the heap of events scheduled for a later day (a pledge's end)."""

    def __init__(self, seed: int, start: date) -> None:
        self.random = random.Random(seed)
        self.day = start
        self.serial = 0
        self.later: list[_Later] = []
        self.kinds: dict[str, str] = {}
        self.sizes: dict[str, str] = {}
        self.roles: dict[str, list[str]] = {}  # role -> parties (see MarketFlow._make_parties)
        self.patents: dict[str, Holding] = {}
        self.numbers: list[str] = []

    def id(self, kind: str) -> str:
        self.serial += 1
        return f"{kind}-{self.serial}"

    def schedule(self, day: date, body: dict[str, Any]) -> None:
        self.serial += 1
        heapq.heappush(self.later, _Later(day, self.serial, body))

    def due(self) -> dict[str, Any] | None:
        """The next scheduled body whose day has come, if any."""
        if self.later and self.later[0].day <= self.day:
            return heapq.heappop(self.later).body
        return None

    def role(self, name: str) -> list[str]:
        return self.roles.get(name, [])

    def other(self, pool: list[str], *not_: str) -> str:
        """A party of `pool` that is none of `not_` (pools always hold several)."""
        while True:
            party = self.random.choice(pool)
            if party not in not_:
                return party

    def chance(self, rate: float) -> bool:
        return self.random.random() < rate

    def money(self, amount: int) -> dict[str, str]:
        return {"amount": str(amount), "currency": "CNY"}

    def common(self, kind: str, patent: Holding) -> dict[str, Any]:
        return {"deal_id": self.id(kind[:3]), "kind": kind,
                "effective_on": self.day.isoformat(), "patents": [patent.number]}
