"""A multi-year patent market: parties, patents and a lawful deal flow shaped like the seeds'.

Enterprises of every size (most of them small), universities, research institutes and banks;
patents granted before the flow starts (inventions, utility models, designs); then, day after
day, licences (mostly ordinary, a few exclusive, some under open licences), transfers (many out
of universities into small and medium enterprises), pledge financing with banks that is
released when due, or defaults and ends in an auction, and equity contributions. A few popular
patents are licensed again and again, so their histories run to hundreds of events.

Every deal is lawful when posted in order (the INV rules), and the flow keeps clear of the
anomaly patterns: a patent changes hands at most once in 400 days, prices stay fair against
any recorded valuation, nobody re-pledges soon after a release; only `flip_rate` of the
transfers are quick resales, which AR-1/AR-2 flag. The planted cases of `demo/scenario.py`
(every rule and its near miss) are added beside it by the demo and the read benchmark.
Deterministic for a seed: the same bodies every run.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ledger.law.identifiers import cn_check_character, uscc_check_character
from ledger.law.values import expiry_date

SIZES = (("micro", 0.30), ("small", 0.35), ("medium", 0.20), ("large", 0.15))
TITLE_GAP = timedelta(days=400)  # AR-1/AR-2 look within a year
REPLEDGE_GAP = timedelta(days=400)  # AR-9


def party_id(n: int) -> str:
    """The n-th synthetic party's USCC (unified social credit code), with its check character."""
    body = f"91330000{n:09d}"
    return body + uscc_check_character(body)


@dataclass
class _Patent:
    number: str
    kind: str
    expires: date
    owner: str
    moved: date = date(2000, 1, 1)  # last change of title
    pledge: str | None = None
    pledgee: str | None = None
    pledge_free: date = date(2000, 1, 1)  # no new pledge before (after a release)
    licensed_until: date = date(2000, 1, 1)
    exclusive_until: date = date(2000, 1, 1)
    open_until: date = date(2000, 1, 1)
    valuation: int = 0


@dataclass(order=True)
class _Later:
    day: date
    serial: int
    body: dict[str, Any] = field(compare=False)


class MarketFlow:
    def __init__(self, parties: int = 5_000, patents: int = 80_000, popular: int = 200,
                 deals_per_day: int = 500, start: date = date(2019, 1, 1),
                 flip_rate: float = 0.0, seed: int = 17) -> None:
        """`flip_rate`: the share of transfers that ignore the 400-day gap (quick resales,
        which AR-1/AR-2 flag) for a background with a realistic trickle of anomalies."""
        self._random = random.Random(seed)
        self.flip_rate = flip_rate
        self.parties, self.patents, self.popular = parties, patents, popular
        self.deals_per_day, self.start = deals_per_day, start
        self._day, self._serial, self._emitted = start, 0, 0
        self._later: list[_Later] = []
        self._kinds: dict[str, str] = {}
        self._sizes: dict[str, str] = {}
        self._book: dict[str, _Patent] = {}
        self._numbers: list[str] = []
        self._party_bodies = self._make_parties()
        self._outcomes = OutcomeFlow(seed, self._enterprises_of)  # issue 18 (outcomes)
        self._patent_bodies = self._make_patents()
        self._enterprises = [p for p, k in self._kinds.items() if k == "enterprise"]
        self._smes = [p for p in self._enterprises if self._sizes[p] != "large"]
        self._banks = [p for p, k in self._kinds.items() if k == "bank"]
        self._hot = set(self.hot_patents())

    # --- the register ---------------------------------------------------------------------

    def _make_parties(self) -> list[dict[str, Any]]:
        bodies = []
        for n in range(self.parties):
            roll = n % 100
            kind = ("bank" if roll < 1 else "university" if roll < 4
                    else "research_institute" if roll < 6 else "enterprise")
            pid = party_id(n)
            self._kinds[pid] = kind
            body: dict[str, Any] = {"id": pid, "name": f"{kind.replace('_', ' ').title()} {n}",
                                    "kind": kind, "region": f"CN-{31 + n % 7}",
                                    "founded_on": f"{1985 + n % 30}-0{1 + n % 9}-15"}
            if kind == "enterprise":
                size = self._random.choices([s for s, _ in SIZES], [w for _, w in SIZES])[0]
                self._sizes[pid] = body["size"] = size
            bodies.append(body)
        return bodies

    def _make_patents(self, first: int = 0) -> list[dict[str, Any]]:
        owners = list(self._kinds)
        holders = [p for p in owners if self._kinds[p] != "bank"]
        academic = [p for p in owners if self._kinds[p] in ("university", "research_institute")]
        bodies = []
        for n in range(first, self.patents):
            roll = self._random.random()
            kind, digit = (("invention", 1) if roll < 0.6 else ("utility_model", 2)
                           if roll < 0.95 else ("design", 3))
            year = 2012 + n % 5 if kind == "invention" else 2016 + n % 2
            filed = date(year, 1 + n % 12, 1 + n % 28)
            granted = filed + timedelta(days=730 if kind == "invention" else 330)
            digits = f"{year}{digit}{n:07d}"
            number = f"{digits}.{cn_check_character(digits)}"
            owner = self._random.choice(academic if n % 4 == 0 and academic else holders)
            self._book[number] = _Patent(number, kind, expiry_date(kind, filed), owner)
            self._numbers.append(number)
            bodies.append({"number": number, "title": f"Method and device {n}",
                           "filed_on": filed.isoformat(), "granted_on": granted.isoformat(),
                           "owners": [{"party": owner, "share": "1"}]})
        return bodies

    def party_bodies(self) -> list[dict[str, Any]]:
        return self._party_bodies

    def patent_bodies(self) -> list[dict[str, Any]]:
        return self._patent_bodies

    def add_patents(self, count: int) -> list[dict[str, Any]]:
        """`count` more patents, to register before the deals that follow may use them (a
        log that grows keeps growing its register too)."""
        first, self.patents = self.patents, self.patents + count
        return self._make_patents(first)

    def outcome_postings(self) -> list[tuple[str, dict[str, Any]]]:
        """Issue 18 (outcomes): the industrialisation reports, products and product reports
        that follow from the licences of the deals emitted so far, as (path, body), to post
        after those deals (a few per thousand deals; `OutcomeFlow`). Each is returned once."""
        return self._outcomes.drain()

    def _enterprises_of(self) -> list[str]:
        return self._enterprises

    def hot_patents(self) -> list[str]:
        """The popular patents: licensed widely, so each has a long history."""
        return self._numbers[: self.popular]

    # --- the flow -------------------------------------------------------------------------

    def skip(self, count: int) -> None:
        """Advance past `count` deals already stored (same seed: the same deals)."""
        for _ in self.deals(count):
            pass

    def deals(self, count: int) -> Iterator[dict[str, Any]]:
        made = 0
        while made < count:
            self._day = self.start + timedelta(days=self._emitted // self.deals_per_day)
            body = self._due() or self._new()
            if body is None:
                continue
            self._emitted += 1
            made += 1
            yield body

    def _due(self) -> dict[str, Any] | None:
        if self._later and self._later[0].day <= self._day:
            later = heapq.heappop(self._later)
            return self._settle(later.body)
        return None

    def _schedule(self, day: date, body: dict[str, Any]) -> None:
        self._serial += 1
        heapq.heappush(self._later, _Later(day, self._serial, body))

    def _new(self) -> dict[str, Any] | None:
        roll = self._random.random()
        if roll < 0.02:
            patent = self._book[self._random.choice(self.hot_patents())]
            return self._licence(patent, popular=True)
        patent = self._book[self._random.choice(self._numbers)]
        if roll < 0.45:
            return self._licence(patent)
        if roll < 0.72:
            return self._transfer(patent)
        if roll < 0.90:
            return self._pledge(patent)
        if roll < 0.94:
            return self._contribution(patent)
        return self._open_licence(patent)

    def _id(self, kind: str) -> str:
        self._serial += 1
        return f"{kind}-{self._serial}"

    def _common(self, kind: str, patent: _Patent) -> dict[str, Any]:
        return {"deal_id": self._id(kind[:3]), "kind": kind,
                "effective_on": self._day.isoformat(), "patents": [patent.number]}

    def _other(self, patent: _Patent, pool: list[str]) -> str:
        while True:
            party = self._random.choice(pool)
            if party != patent.owner:
                return party

    def _licence(self, patent: _Patent, popular: bool = False) -> dict[str, Any] | None:
        day = self._day
        if patent.exclusive_until >= day or patent.expires <= day + timedelta(days=400):
            return None
        exclusive = (not popular and patent.number not in self._hot
                     and patent.licensed_until < day and patent.open_until < day
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
                "licensee": self._other(patent, self._enterprises),
                "licence_kind": "exclusive" if exclusive else "ordinary", "territory": "CN",
                "field": "*", "starts_on": day.isoformat(), "ends_on": ends.isoformat(),
                "fee": fee, "pledgee_consent": patent.pledge is not None}
        self._outcomes.note_licence(body)  # issue 18 (outcomes)
        return body

    def _title_free(self, patent: _Patent, flip: bool = False) -> bool:
        """Title may move: not within the gap, not under an open licence or a pledge (which
        may end in an auction that moves it again), with years of term left."""
        return ((flip or patent.moved + TITLE_GAP <= self._day) and patent.open_until < self._day
                and patent.pledge is None and patent.expires > self._day + timedelta(days=800))

    def _transfer(self, patent: _Patent) -> dict[str, Any] | None:
        flip = self.flip_rate > 0 and self._random.random() < self.flip_rate
        if not self._title_free(patent, flip):
            return None
        academic = self._kinds[patent.owner] in ("university", "research_institute")
        buyer = self._other(patent, self._smes if academic else self._enterprises)
        price = max(self._random.randint(5, 200) * 10_000, patent.valuation // 2)
        body = {**self._common("transfer", patent), "from_parties": [patent.owner],
                "to_parties": [{"party": buyer, "share": "1"}],
                "price": {"amount": str(price), "currency": "CNY"}, "consideration": "cash"}
        patent.owner, patent.moved = buyer, self._day
        return body

    def _contribution(self, patent: _Patent) -> dict[str, Any] | None:
        if not self._title_free(patent):
            return None
        company = self._other(patent, self._enterprises)
        valuation = self._random.randint(50, 500) * 10_000
        body = {**self._common("equity_contribution", patent), "from_parties": [patent.owner],
                "company": company, "valuation": {"amount": str(valuation), "currency": "CNY"},
                "equity_share": "0.05"}
        patent.owner, patent.moved, patent.valuation = company, self._day, valuation
        return body

    def _pledge(self, patent: _Patent) -> dict[str, Any] | None:
        day = self._day
        if (patent.pledge is not None or patent.pledge_free > day
                or self._kinds[patent.owner] != "enterprise"
                or patent.expires <= day + timedelta(days=1200)):
            return None
        bank = self._random.choice(self._banks)
        due = day + timedelta(days=365 * self._random.randint(1, 3))
        amount = self._random.randint(50, 2_000) * 10_000
        body = {**self._common("pledge", patent), "pledgors": [patent.owner], "pledgee": bank,
                "secured_amount": {"amount": str(amount), "currency": "CNY"},
                "due_on": due.isoformat()}
        patent.pledge, patent.pledgee = body["deal_id"], bank
        if self._random.random() < 0.92:
            self._schedule(due - timedelta(days=self._random.randint(0, 60)),
                           {"settle": "release", "number": patent.number,
                            "pledge": body["deal_id"]})
        else:
            self._schedule(due + timedelta(days=30), {"settle": "default",
                                                     "number": patent.number,
                                                     "pledge": body["deal_id"],
                                                     "amount": amount})
        return body

    def _open_licence(self, patent: _Patent) -> dict[str, Any] | None:
        day = self._day
        if patent.open_until >= day:
            taker = self._other(patent, self._enterprises)
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

    def _settle(self, later: dict[str, Any]) -> dict[str, Any] | None:
        """A pledge ends as scheduled: released, or defaulted and later sold at auction."""
        patent = self._book[later["number"]]
        if patent.pledge != later["pledge"]:
            return None
        body = {"deal_id": self._id(later["settle"][:3]), "effective_on": self._day.isoformat(),
                "patents": [patent.number], "pledge": later["pledge"]}
        if later["settle"] == "release":
            patent.pledge = patent.pledgee = None
            patent.pledge_free = self._day + REPLEDGE_GAP
            return {**body, "kind": "pledge_release"}
        if later["settle"] == "default":
            self._schedule(self._day + timedelta(days=120), {**later, "settle": "disposal"})
            return {**body, "kind": "default",
                    "outstanding": {"amount": str(later["amount"]), "currency": "CNY"}}
        buyer = self._other(patent, self._enterprises)
        proceeds = later["amount"] * self._random.randint(40, 110) // 100
        patent.owner, patent.moved = buyer, self._day
        patent.pledge = patent.pledgee = None
        patent.pledge_free = self._day + REPLEDGE_GAP
        return {**body, "kind": "disposal", "mode": "auction",
                "proceeds": {"amount": str(proceeds), "currency": "CNY"},
                "to_parties": [{"party": buyer, "share": "1"}]}


# --- issue 18 (outcomes): industrialisation reports and patent products ---------------------

OUTCOME_EVERY = 250  # one licence in this many is put to use: about 4 postings per 1,000 deals


class OutcomeFlow:
    """What the market's licensees make of their licences (domain.md s10.1-10.2), drawn with
    a random generator of its own, so the deal flow stays the same for a seed whether or not
    outcomes are asked. One licence in OUTCOME_EVERY is industrialised by its licensee on the
    day it starts (INV-17: a licence in force then); every second of those also gives a
    product filed that day, naming the patent, with a report for its first year; every third
    is also used by a partner under a technical service contract. All lawful in log order:
    nothing in the flow lapses a patent or ends a licence early."""

    def __init__(self, seed: int, enterprises: Any) -> None:
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

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        taken, self._pending = self._pending, []
        return taken


# --- end issue 18 (outcomes) ----------------------------------------------------------------
