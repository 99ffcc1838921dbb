"""A multi-year patent market: parties, patents and a lawful flow shaped like the seeds'.

Enterprises of every size (most of them small), universities, research institutes, banks, a
few agencies, technology managers, insurers, guarantee companies and district funds; patents
granted before the flow starts (inventions, utility models, designs), most with IPC symbols;
three patent pools. Then, day after day, licences (mostly ordinary, a few exclusive, some
under open licences), transfers (many out of universities into small and medium enterprises),
pledge financing with banks (demo/market_finance.py), equity contributions, and at a few per
thousand the slower facts of issue 18 (demo/market_pools.py): pool entries, pool licences and
exits, qualifications, size changes, new classifications. A share of the deals names the
agency, platform or technology manager that arranged it and its CNIPA record number. A few
popular patents are licensed again and again, so their histories run to hundreds of events.

Everything is lawful when posted in order (the INV rules), and the flow keeps clear of the
anomaly patterns: a patent changes hands at most once in 400 days, prices stay fair against
any recorded valuation, nobody re-pledges soon after a release (an extension is a
`pledge_change`), every buyer is years old (AR-8, AR-12); only `flip_rate` of the transfers
are quick resales, which AR-1/AR-2 flag. The planted cases of `demo/scenario.py` (every rule
and its near miss) are added beside it by the demo and the read benchmark.
Deterministic for a seed: the same bodies every run.

The flow is a sequence of postings `(path, body)`: deals go to /v1/deals (or in batches to
/v1/deals/batch), the rest to their own endpoints; each posting stores one event.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from demo.market_book import (
    DEALS,
    TITLE_GAP,
    Book,
    Holding,
    Posting,
    party_id,
    person_id,
)
from demo.market_finance import PledgeDesk
from demo.market_outcomes import OutcomeFlow
from demo.market_pools import PoolDesk, TraitDesk, ipc_symbols
from ledger.law.identifiers import cn_check_character
from ledger.law.values import expiry_date

__all__ = ["DEALS", "MarketFlow", "Posting", "party_id"]

SIZES = (("micro", 0.30), ("small", 0.35), ("medium", 0.20), ("large", 0.15))
# Every hundredth party by its number: (kind, role, name); the rest are enterprises.
ROLES = {0: ("bank", "bank", "Bank"), 1: ("university", "academic", "University"),
         2: ("university", "academic", "University"), 3: ("university", "academic", "University"),
         4: ("research_institute", "academic", "Research Institute"),
         5: ("research_institute", "academic", "Research Institute"),
         6: ("agency", "agency", "IP Agency"), 7: ("individual", "person", "Technology manager"),
         8: ("enterprise", "insurer", "Insurance Company"),
         9: ("enterprise", "guarantor", "Guarantee Company"),
         10: ("government", "fund", "District IP Fund")}
RARE = 0.012  # the share of the flow's new postings that are issue 18's slower facts
MIN_PARTIES = 20  # so that every role has a party


class MarketFlow:
    def __init__(self, parties: int = 5_000, patents: int = 80_000, popular: int = 200,
                 deals_per_day: int = 500, start: date = date(2019, 1, 1),
                 flip_rate: float = 0.0, seed: int = 17) -> None:
        """`flip_rate`: the share of transfers that ignore the 400-day gap (quick resales,
        which AR-1/AR-2 flag) for a background with a realistic trickle of anomalies."""
        if parties < MIN_PARTIES:
            raise ValueError(f"a market needs at least {MIN_PARTIES} parties")
        self.book = Book(seed, start)
        self._random = self.book.random
        self.flip_rate = flip_rate
        self.parties, self.patents, self.popular = parties, patents, popular
        self.deals_per_day, self.start = deals_per_day, start
        self._emitted = 0
        self._party_bodies = self._make_parties()
        self._patent_bodies = self._make_patents()
        self._hot = set(self.hot_patents())
        self.pledges = PledgeDesk(self.book)
        self.pools = PoolDesk(self.book, start)
        self.traits = TraitDesk(self.book)
        self.outcomes = OutcomeFlow(seed, lambda: self.book.role("enterprise"))  # issue 18

    # --- the register ---------------------------------------------------------------------

    def _make_parties(self) -> list[dict[str, Any]]:
        bodies, b = [], self.book
        for n in range(self.parties):
            kind, role, name = ROLES.get(n % 100, ("enterprise", "enterprise", "Enterprise"))
            pid = person_id(n) if kind == "individual" else party_id(n)
            b.kinds[pid] = kind
            b.roles.setdefault(role, []).append(pid)
            body: dict[str, Any] = {"id": pid, "name": f"{name} {n}", "kind": kind,
                                    "region": f"CN-{31 + n % 7}"}
            if kind != "individual":
                body["founded_on"] = f"{1985 + n % 30}-0{1 + n % 9}-15"
            if kind == "enterprise":
                size = (b.random.choices([s for s, _ in SIZES], [w for _, w in SIZES])[0]
                        if role == "enterprise" else "large")
                b.sizes[pid] = body["size"] = size
                if role == "enterprise" and size != "large":
                    b.roles.setdefault("sme", []).append(pid)
            bodies.append(body)
        return bodies

    def _make_patents(self, first: int = 0) -> list[dict[str, Any]]:
        b = self.book
        academic, holders = b.role("academic"), b.role("enterprise") + b.role("academic")
        bodies = []
        for n in range(first, self.patents):
            roll = b.random.random()
            kind, digit = (("invention", 1) if roll < 0.6 else ("utility_model", 2)
                           if roll < 0.95 else ("design", 3))
            year = 2012 + n % 5 if kind == "invention" else 2016 + n % 2
            filed = date(year, 1 + n % 12, 1 + n % 28)
            granted = filed + timedelta(days=730 if kind == "invention" else 330)
            digits = f"{year}{digit}{n:07d}"
            number = f"{digits}.{cn_check_character(digits)}"
            owner = b.random.choice(academic if n % 4 == 0 else holders)
            ipc = ipc_symbols(b)
            b.patents[number] = Holding(number, kind, expiry_date(kind, filed), owner,
                                        ipc=tuple(ipc))
            b.numbers.append(number)
            body: dict[str, Any] = {"number": number, "title": f"Method and device {n}",
                                    "filed_on": filed.isoformat(),
                                    "granted_on": granted.isoformat(),
                                    "owners": [{"party": owner, "share": "1"}]}
            if ipc:
                body["ipc"] = ipc
            bodies.append(body)
        return bodies

    def party_bodies(self) -> list[dict[str, Any]]:
        return self._party_bodies

    def patent_bodies(self) -> list[dict[str, Any]]:
        return self._patent_bodies

    def pool_bodies(self) -> list[dict[str, Any]]:
        """The pools (POST /v1/pools), to register after the parties, before the flow."""
        return self.pools.pools

    def registrations(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """Everything to register before the flow, by endpoint, in order."""
        return [("/v1/parties", self.party_bodies()), ("/v1/patents", self.patent_bodies()),
                ("/v1/pools", self.pool_bodies())]

    def registered_events(self) -> int:
        """The events the registrations store: a patent with IPC symbols stores two (its
        registration and its first classification)."""
        return (self.parties + len(self._patent_bodies)
                + sum(1 for p in self._patent_bodies if "ipc" in p) + len(self.pool_bodies()))

    def add_patents(self, count: int) -> list[dict[str, Any]]:
        """`count` more patents, to register before the deals that follow may use them (a
        log that grows keeps growing its register too)."""
        first, self.patents = self.patents, self.patents + count
        return self._make_patents(first)

    def hot_patents(self) -> list[str]:
        """The popular patents: licensed widely, so each has a long history."""
        return self.book.numbers[: self.popular]

    # --- the flow -------------------------------------------------------------------------

    def skip(self, count: int) -> None:
        """Advance past `count` postings already stored (same seed: the same postings)."""
        for _ in self.postings(count):
            pass

    def postings(self, count: int) -> Iterator[Posting]:
        """The next `count` postings of the flow, in order: each stores one event."""
        made = 0
        while made < count:
            self.book.day = self.start + timedelta(days=self._emitted // self.deals_per_day)
            posting = self.outcomes.next() or self._next()
            if posting is None:
                continue
            self._emitted += 1
            made += 1
            yield posting

    def deals(self, count: int) -> Iterator[dict[str, Any]]:
        """The next `count` deals, for a poster that sends deals only (the write
        benchmarks): the flow's other postings on the way (qualifications, size changes,
        classifications, risk payments) are left out; no later deal depends on them."""
        made = 0
        while made < count:
            for path, body in self.postings(count - made):
                if path == DEALS:
                    made += 1
                    yield body

    def _next(self) -> Posting | None:
        later = self.book.due()
        if later is not None:
            return self.pledges.settle(later)
        return self._draw(self._random.random())

    def _draw(self, roll: float) -> Posting | None:
        """A new posting for a roll in [0, 1): the slower facts at RARE, else a deal."""
        if roll < RARE:
            return self._rare(roll)
        return self._deal(self._new())

    def _rare(self, roll: float) -> Posting | None:
        """Issue 18's slower facts, a few per thousand postings each."""
        if roll < 0.003:
            return self._deal(self.pools.entry(self._any()))
        if roll < 0.005:
            return self._deal(self.pools.licence())
        if roll < 0.006:
            return self._deal(self.pools.exit())
        if roll < 0.009:
            return self.traits.qualification()
        if roll < 0.010:
            return self.traits.size_change()
        return self.traits.classification()

    def _any(self) -> Holding:
        return self.book.patents[self._random.choice(self.book.numbers)]

    def _new(self) -> dict[str, Any] | None:
        roll = self._random.random()
        if roll < 0.02:
            patent = self.book.patents[self._random.choice(self.hot_patents())]
            return self._licence(patent, popular=True)
        patent = self._any()
        if roll < 0.45:
            return self._licence(patent)
        if roll < 0.72:
            return self._transfer(patent)
        if roll < 0.90:
            return self.pledges.pledge(patent)
        if roll < 0.94:
            return self._contribution(patent)
        return self._open_licence(patent)

    def _deal(self, body: dict[str, Any] | None) -> Posting | None:
        """A deal, with the intermediaries that arranged a share of them (domain.md s11.4)."""
        if body is None:
            return None
        b = self.book
        if b.chance(0.12):
            body["agency"] = b.random.choice(b.role("agency"))
        if b.chance(0.06):
            body["platform"] = b.random.choice(b.role("agency"))
        if b.chance(0.03):
            body["technology_manager"] = b.random.choice(b.role("person"))
        if body["kind"] == "licence" and "official_record" not in body and b.chance(0.3):
            body["official_record"] = f"{b.day.year}99{b.serial % 10**8:08d}"  # 备案号
        return DEALS, body

    def _common(self, kind: str, patent: Holding) -> dict[str, Any]:
        return self.book.common(kind, patent)

    def _other(self, patent: Holding, pool: list[str]) -> str:
        return self.book.other(pool, patent.owner)

    def _licence(self, patent: Holding, popular: bool = False) -> dict[str, Any] | None:
        day = self.book.day
        if patent.exclusive_until >= day or patent.expires <= day + timedelta(days=400):
            return None
        exclusive = (not popular and patent.number not in self._hot
                     and patent.licensed_until < day and patent.open_until < day
                     and patent.pooled_until < day  # INV-6: none outside a pool
                     and self._random.random() < 0.1)
        ends = min(day + timedelta(days=365 * self._random.randint(2, 5)),
                   patent.expires - timedelta(days=1))
        patent.licensed_until = max(patent.licensed_until, ends)
        if exclusive:
            patent.exclusive_until = ends
        fee: dict[str, Any] = (
            {"mode": "royalty", "rate": f"0.0{self._random.randint(1, 6)}"}
            if self._random.random() < 0.5 else
            {"mode": "lump_sum", "amount": {"amount": str(self._random.randint(2, 60) * 10_000),
                                            "currency": "CNY"}})
        body = {**self._common("licence", patent), "licensors": [patent.owner],
                "licensee": self._other(patent, self.book.role("enterprise")),
                "licence_kind": "exclusive" if exclusive else "ordinary", "territory": "CN",
                "field": "*", "starts_on": day.isoformat(), "ends_on": ends.isoformat(),
                "fee": fee, "pledgee_consent": patent.pledge is not None}
        self.outcomes.note_licence(body)  # issue 18: its use, posted right after it
        return body

    def _title_free(self, patent: Holding, flip: bool = False) -> bool:
        """Title may move: not within the gap, not under an open licence or a pledge (which
        may end in an auction that moves it again), with years of term left."""
        return ((flip or patent.moved + TITLE_GAP <= self.book.day) and patent.open_until < self.book.day
                and patent.pledge is None and patent.expires > self.book.day + timedelta(days=800))

    def _transfer(self, patent: Holding) -> dict[str, Any] | None:
        flip = self.flip_rate > 0 and self._random.random() < self.flip_rate
        if not self._title_free(patent, flip):
            return None
        academic = self.book.kinds[patent.owner] in ("university", "research_institute")
        buyer = self._other(patent, self.book.role("sme") if academic else self.book.role("enterprise"))
        price = max(self._random.randint(5, 200) * 10_000, patent.valuation // 2)
        body = {**self._common("transfer", patent), "from_parties": [patent.owner],
                "to_parties": [{"party": buyer, "share": "1"}],
                "price": {"amount": str(price), "currency": "CNY"}, "consideration": "cash"}
        patent.owner, patent.moved = buyer, self.book.day
        return body

    def _contribution(self, patent: Holding) -> dict[str, Any] | None:
        if not self._title_free(patent):
            return None
        company = self._other(patent, self.book.role("enterprise"))
        valuation = self._random.randint(50, 500) * 10_000
        body = {**self._common("equity_contribution", patent), "from_parties": [patent.owner],
                "company": company, "valuation": {"amount": str(valuation), "currency": "CNY"},
                "equity_share": "0.05"}
        patent.owner, patent.moved, patent.valuation = company, self.book.day, valuation
        return body

    def _open_licence(self, patent: Holding) -> dict[str, Any] | None:
        day = self.book.day
        if patent.open_until >= day:
            taker = self._other(patent, self.book.role("enterprise"))
            return {**self._common("open_licence_take_up", patent), "licensee": taker}
        if (patent.exclusive_until >= day or patent.expires <= day + timedelta(days=800)
                or patent.moved + TITLE_GAP > day):
            return None
        ends = day + timedelta(days=730)
        patent.open_until = ends
        body = {**self._common("open_licence_declaration", patent), "owners": [patent.owner],
                "fee": {"mode": "royalty", "rate": "0.02"}, "starts_on": day.isoformat(),
                "ends_on": ends.isoformat(), "pledgee_consent": patent.pledge is not None}
        if patent.kind != "invention":  # INV-7: Patent Law Art. 50 (issue 17)
            body["evaluation_report"] = f"PJ-{patent.number}"
        return body
