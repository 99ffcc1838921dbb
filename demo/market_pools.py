"""The market's pools and parties' traits (issue 18; domain.md s10.3-10.4).

Three patent pools, formed before the flow starts and run by agencies: owners put patents
in (`pool_entry`, by the patent's owner on that day, INV-2) and, after a year or more and once
no pool licence covers them, now and then take them out (`pool_exit`); the administrator
grants ordinary pool licences over a few pooled patents. A pooled patent gets no exclusive
licence outside the pool (INV-6), and none enters under an exclusive licence.

Traits change slowly beside the deals: enterprises win dated qualifications (高新技术企业
for three years, with its certificate number; 专精特新 ...), a few grow a size class, and a few
patents are classified again (`POST /v1/patents/{number}/classification`). Most patents carry
IPC symbols from their registration.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from demo.market_book import FAR_PAST, Book, Holding, Posting

# (id, name, field): "*" is every field
POOLS = (("MKT-POOL-VALVES", "Fluid control patent pool", "valves"),
         ("MKT-POOL-DISPLAYS", "Display patent pool", "*"),
         ("MKT-POOL-BATTERIES", "Battery patent pool", "batteries"))
IPC = ("F16K 1/00", "F16K 31/02", "G06F 16/245", "H01M 10/052", "A61K 31/00", "C08L 23/06",
       "B65G 47/91", "E04B 1/98", "H04L 9/32", "G01N 33/48", "D06F 39/00", "B60L 53/80",
       "H10K 59/12", "G09G 3/32", "A01B 1/02", "C12N 15/10")
QUALIFICATIONS = (("high_tech", 0.4), ("specialised_sme", 0.7), ("ip_advantage", 0.8),
                  ("ip_demonstration", 0.9), ("sample_enterprise", 1.0))  # cumulative
GROWTH = {"micro": "small", "small": "medium", "medium": "large"}
TERM = timedelta(days=3 * 365 - 1)  # a high-tech certificate runs three years
SETTLED = timedelta(days=30)  # in a pool this long before a pool licence covers a patent


def ipc_symbols(book: Book) -> list[str]:
    """One or two IPC symbols for a newly registered patent (none for three in ten)."""
    if book.chance(0.3):
        return []
    return book.random.sample(IPC, book.random.randint(1, 2))


class PoolDesk:
    """The pools (posted with the registrations) and their entries, licences and exits."""

    def __init__(self, book: Book, start: date) -> None:
        self.book = book
        agencies = book.role("agency") or book.role("enterprise")
        self.pools = [{"pool_id": pid, "name": name, "field": field,
                       "administrator": agencies[i % len(agencies)],
                       "formed_on": (start - timedelta(days=90 * (i + 1))).isoformat()}
                      for i, (pid, name, field) in enumerate(POOLS)]
        self.members: dict[str, list[str]] = {p["pool_id"]: [] for p in self.pools}
        self.entered: dict[str, date] = {}
        self.pool_licensed: dict[str, date] = {}  # patent -> last day of its pool licences

    def entry(self, patent: Holding) -> dict[str, Any] | None:
        b, day = self.book, self.book.day
        if (patent.pool is not None or patent.pooled_until != FAR_PAST
                or patent.exclusive_until >= day or patent.expires <= day + timedelta(days=800)):
            return None
        pool = b.random.choice(self.pools)["pool_id"]
        patent.pool, patent.pooled_until = pool, date.max
        self.members[pool].append(patent.number)
        self.entered[patent.number] = day
        return {**b.common("pool_entry", patent), "pool": pool, "owners": [patent.owner],
                "starts_on": day.isoformat()}

    def licence(self) -> dict[str, Any] | None:
        """The administrator licenses a few of the pool's patents, for two years: patents
        in the pool for a month at least, so that a poster that spreads deals over clients by
        their first patent (bench/scale.py's lanes) never sends the licence before an entry."""
        b, day = self.book, self.book.day
        pool = b.random.choice(self.pools)
        ends = day + timedelta(days=730)
        members = [n for n in self.members[pool["pool_id"]]
                   if b.patents[n].expires > ends + timedelta(days=1)
                   and self.entered[n] + SETTLED <= day]
        if not members:
            return None
        chosen = b.random.sample(members, min(len(members), b.random.randint(1, 4)))
        for number in chosen:
            patent = b.patents[number]
            patent.licensed_until = max(patent.licensed_until, ends)
            self.pool_licensed[number] = ends
        return {"deal_id": b.id("pli"), "kind": "licence", "effective_on": day.isoformat(),
                "patents": chosen, "pool": pool["pool_id"],
                "licensors": [pool["administrator"]],
                "licensee": b.other(b.role("enterprise"), pool["administrator"]),
                "territory": "CN", "field": pool["field"], "starts_on": day.isoformat(),
                "ends_on": ends.isoformat(),
                "fee": {"mode": "royalty", "rate": f"0.0{b.random.randint(1, 3)}"},
                "pledgee_consent": any(b.patents[n].pledge is not None for n in chosen)}

    def exit(self) -> dict[str, Any] | None:
        """A patent a year or more in a pool, under no running pool licence, leaves it."""
        b, day = self.book, self.book.day
        pool = b.random.choice(self.pools)["pool_id"]
        if not self.members[pool]:
            return None
        number = b.random.choice(self.members[pool])
        if (self.entered[number] + timedelta(days=365) > day
                or self.pool_licensed.get(number, date.min) >= day):
            return None
        patent = b.patents[number]
        self.members[pool].remove(number)
        patent.pool, patent.pooled_until = None, day + timedelta(days=1)
        return {**b.common("pool_exit", patent), "pool": pool, "owners": [patent.owner]}


class TraitDesk:
    """Qualifications, size changes and later classifications, each at its own endpoint."""

    def __init__(self, book: Book) -> None:
        self.book = book
        self.held: dict[tuple[str, str], date] = {}  # (party, qualification) -> valid to
        self.resized: dict[str, date] = {}  # party -> day of its last size change

    def qualification(self) -> Posting | None:
        b, day = self.book, self.book.day
        party = b.random.choice(b.role("enterprise"))
        roll = b.random.random()
        title = next(q for q, share in QUALIFICATIONS if roll < share)
        if self.held.get((party, title), date.min) >= day:
            return None
        ends = day + TERM
        self.held[party, title] = ends
        body: dict[str, Any] = {"qualification": title, "from": day.isoformat(),
                                "to": ends.isoformat()}
        if title == "high_tech":
            body["certificate"] = f"GR{day.year}33{b.serial % 10**6:06d}"
        return f"/v1/parties/{party}/qualifications", body

    def size_change(self) -> Posting | None:
        b, day = self.book, self.book.day
        party = b.random.choice(b.role("enterprise"))
        grown = GROWTH.get(b.sizes.get(party, "large"))
        if grown is None or self.resized.get(party) == day:
            return None
        b.sizes[party], self.resized[party] = grown, day
        return f"/v1/parties/{party}/size", {"size": grown, "effective_on": day.isoformat()}

    def classification(self) -> Posting | None:
        """A patent reclassified: its symbols and one more."""
        b = self.book
        patent = b.patents[b.random.choice(b.numbers)]
        added = b.random.choice(IPC)
        if added in patent.ipc or len(patent.ipc) >= 5:
            return None
        patent.ipc = (*patent.ipc, added)
        return (f"/v1/patents/{patent.number}/classification",
                {"ipc": list(patent.ipc), "effective_on": b.day.isoformat()})

