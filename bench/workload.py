"""A deterministic workload of lawful deals: parties, patents, transfers and licences.

Seeded, so two runs post the same deals. The generator tracks each patent's owner, so every
transfer names the full current owner set (INV-2) and every deal is accepted: the benchmark
measures the write path, not refusals.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from demo.market import party_id
from ledger.law.identifiers import cn_check_character


def patent_number(n: int) -> str:
    digits = f"2016{1}{n:07d}"
    return f"{digits}.{cn_check_character(digits)}"


@dataclass
class Workload:
    parties: int = 200
    patents: int = 2_000
    seed: int = 7
    owners: dict[str, str] = field(default_factory=dict)
    _deal_serial: int = 0
    _day: date = date(2019, 1, 1)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def party_bodies(self) -> list[dict[str, Any]]:
        sizes = ["micro", "small", "medium", "large"]
        return [{"id": party_id(n), "name": f"Enterprise {n}", "kind": "enterprise",
                 "size": sizes[n % 4], "region": "CN-33"} for n in range(self.parties)]

    def patent_bodies(self) -> list[dict[str, Any]]:
        bodies = []
        for n in range(self.patents):
            owner = party_id(n % self.parties)
            number = patent_number(n)
            self.owners[number] = owner
            bodies.append({"number": number, "title": f"Method {n}", "filed_on": "2016-03-01",
                           "granted_on": "2018-06-01",
                           "owners": [{"party": owner, "share": "1"}]})
        return bodies

    def deals(self, count: int, prefix: str = "d", lane: int = 0,
              lanes: int = 1) -> Iterator[dict[str, Any]]:
        """Transfers and ordinary licences in equal measure, each lawful when posted in order.

        Concurrent clients each take their own `lane` (a disjoint share of the patents), so
        a deal never overtakes the transfer it depends on.
        """
        numbers = list(self.owners)[lane::lanes]
        for _ in range(count):
            self._deal_serial += 1
            if self._deal_serial % 50 == 0:
                self._day += timedelta(days=1)
            number = self._random.choice(numbers)
            owner = self.owners[number]
            other = owner
            while other == owner:  # a deal between two parties (the second draw may repeat)
                other = party_id(self._random.randrange(self.parties))
            deal_id = f"{prefix}-{lane}-{self._deal_serial}"
            day = self._day.isoformat()
            if self._deal_serial % 2:
                self.owners[number] = other
                yield {"deal_id": deal_id, "kind": "transfer", "effective_on": day,
                       "patents": [number], "from_parties": [owner],
                       "to_parties": [{"party": other, "share": "1"}],
                       "price": {"amount": "250000.00", "currency": "CNY"},
                       "consideration": "cash"}
            else:
                yield {"deal_id": deal_id, "kind": "licence", "effective_on": day,
                       "patents": [number], "licensors": [owner], "licensee": other,
                       "licence_kind": "ordinary", "territory": "CN", "field": "*",
                       "starts_on": day, "ends_on": "2030-12-31",
                       "fee": {"mode": "royalty", "rate": "0.03"}}


@dataclass
class _Holding:
    owner: str
    pledge: str | None = None  # the active pledge's deal id
    events: int = 0


@dataclass
class MixedWorkload:
    """Transfers, licences, pledges and releases over many patents, a few of them busy.

    Lawful when posted in order: transfers name the owner and carry the pledgee's consent when
    the patent is pledged (INV-10), a patent holds one pledge at a time (INV-9), releases name
    the active pledge. `hot` patents draw `hot_share` of the deals, so some have long
    histories (the GraphQL benchmark asks for 50 events of one patent).
    """

    parties: int = 2_000
    patents: int = 80_000
    hot: int = 200
    hot_share: float = 0.015
    seed: int = 11
    holdings: dict[str, _Holding] = field(default_factory=dict)
    _serial: int = 0
    _day: date = date(2019, 1, 1)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._numbers: list[str] = []

    def party_bodies(self) -> list[dict[str, Any]]:
        kinds = ["enterprise"] * 8 + ["university", "bank"]
        sizes = ["micro", "small", "medium", "large"]
        return [{"id": party_id(n), "name": f"Party {n}", "kind": kinds[n % 10],
                 "size": sizes[n % 4] if kinds[n % 10] == "enterprise" else None,
                 "region": f"CN-{31 + n % 5}"} for n in range(self.parties)]

    def patent_bodies(self) -> list[dict[str, Any]]:
        bodies = []
        for n in range(self.patents):
            number = patent_number(n)
            owner = party_id(n % self.parties)
            self.holdings[number] = _Holding(owner)
            self._numbers.append(number)
            bodies.append({"number": number, "title": f"Method {n}", "filed_on": "2016-03-01",
                           "granted_on": "2018-06-01",
                           "owners": [{"party": owner, "share": "1"}]})
        return bodies

    def hot_patents(self) -> list[str]:
        return self._numbers[: self.hot]

    def skip(self, count: int) -> None:
        """Advance past `count` deals already stored (same seed: the same deals)."""
        for _ in self.deals(count):
            pass

    def deals(self, count: int, prefix: str = "m") -> Iterator[dict[str, Any]]:
        banks = [party_id(n) for n in range(self.parties) if n % 10 == 9]
        for _ in range(count):
            self._serial += 1
            if self._serial % 500 == 0:
                self._day += timedelta(days=1)
            if self._random.random() < self.hot_share:
                number = self._numbers[self._random.randrange(self.hot)]
            else:
                number = self._numbers[self._random.randrange(self.hot, len(self._numbers))]
            held = self.holdings[number]
            held.events += 1
            deal_id, day, roll = f"{prefix}-{self._serial}", self._day.isoformat(), \
                self._random.random()
            other = held.owner
            while other == held.owner:  # a deal between two parties
                other = party_id(self._random.randrange(self.parties))
            if roll < 0.15:
                if held.pledge is None:
                    held.pledge = deal_id
                    bank = self._random.choice([b for b in banks if b != held.owner] or banks)
                    yield {"deal_id": deal_id, "kind": "pledge", "effective_on": day,
                           "patents": [number], "pledgors": [held.owner], "pledgee": bank,
                           "secured_amount": {"amount": "3000000.00", "currency": "CNY"},
                           "due_on": "2031-12-31"}
                else:
                    pledge, held.pledge = held.pledge, None
                    yield {"deal_id": deal_id, "kind": "pledge_release", "effective_on": day,
                           "patents": [number], "pledge": pledge}
                continue
            if roll < 0.45:
                owner, held.owner = held.owner, other
                yield {"deal_id": deal_id, "kind": "transfer", "effective_on": day,
                       "patents": [number], "from_parties": [owner],
                       "to_parties": [{"party": other, "share": "1"}],
                       "price": {"amount": "250000.00", "currency": "CNY"},
                       "consideration": "cash", "pledgee_consent": held.pledge is not None}
                continue
            yield {"deal_id": deal_id, "kind": "licence", "effective_on": day,
                   "patents": [number], "licensors": [held.owner], "licensee": other,
                   "licence_kind": "ordinary", "territory": "CN", "field": "*",
                   "starts_on": day, "ends_on": "2030-12-31",
                   "fee": {"mode": "royalty", "rate": "0.03"},
                   "pledgee_consent": held.pledge is not None}
