"""China's yearly mix of patent transactions, scaled, for the scale benchmark (issue 21).

The figures a year, and where they come from (docs/scaling.md repeats them):

- transfers and licences: 613,000 filings in 2024 (the brief, domain.md s8, "sanity figures").
  How they split is not in the brief or the seeds; ASSUMED here: 60 % transfers, 40 % licences.
- pledges: "tens of thousands" of pledge registrations a year (issue 21); ASSUMED 35,000. The
  brief's only national pledge figure is money (853.99 bn yuan of patent and trademark pledge
  financing in 2023, domain.md s8); one province's plan (seeds/, 2021-2025) counts "over 1,100
  pledge projects" in total.
- status changes: "millions of fee lapses" a year (issue 21); ASSUMED 1,500,000 patents lapsing
  for an unpaid annual fee (Patent Law art. 44), each one `lapsed` status change.

So a year is about 2.15 million postings: 70 % lapses, 29 % transfers and licences, 1.6 %
pledges. A patent that lapses must be registered first, so the benchmark also registers more
patents than the deals alone need (`registrations_per_flow_event`): the log's actual make-up is
counted by topic and written beside the figures (it is not the yearly mix, which has no
registrations in it). Every posting stays lawful: a patent lapses only when it is free of a
pledge, a running licence, an open licence and a pool, and never one of the popular patents;
once lapsed, no later posting names it (INV-4).

Registrations and lapses are official records, so they go in as an office publishes them:
registrations in batches of up to 1,000 (`POST /v1/patents/batch`, a registry's daily file),
a stretch's lapses as one status feed at its end (`POST /v1/patents/status/batch`, the
gazette's; `grouped` says why every posting stays lawful). Posted one request each, a smoke
run loaded about 300 events/s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from demo.market import MarketFlow
from demo.market_book import DEALS, Posting

TRANSFERS_AND_LICENCES = 613_000  # 2024, domain.md s8
TRANSFER_SHARE = 0.60  # assumed
PLEDGES = 35_000  # assumed: "tens of thousands"
FEE_LAPSES = 1_500_000  # assumed: "millions"
YEARLY = TRANSFERS_AND_LICENCES + PLEDGES + FEE_LAPSES
LAPSE_SHARE = FEE_LAPSES / YEARLY
SPARE_PATENTS = 1.2  # patents registered per expected lapse (some draws find none free)
LAPSE_TRIES = 8  # patents drawn before a lapse gives way to a deal
LAPSE_REASON = "annual fee not paid within the grace period (Patent Law art. 44)"


def registrations_per_flow_event() -> float:
    """Patents to register per posting of the flow: every lapse needs one, plus the market's
    own register for its deals (bench/scale.py, a patent per 12 events)."""
    return LAPSE_SHARE * SPARE_PATENTS + 1 / 12


class NationalFlow(MarketFlow):
    """The market of demo/market.py with the national weights: its deals drawn as transfers,
    licences and pledges in the yearly proportions above, and fee lapses among them."""

    def _draw(self, roll: float) -> Posting | None:
        if roll < LAPSE_SHARE:
            lapse = self._lapse()
            if lapse is not None:
                return lapse
        return super()._draw(self._random.random())

    def _new(self) -> dict[str, Any] | None:
        """A deal in the national proportions of transfers, licences and pledges (the market's
        own few equity contributions and open licences left out)."""
        roll = self._random.random() * (TRANSFERS_AND_LICENCES + PLEDGES)
        if roll < 0.02 * TRANSFERS_AND_LICENCES:
            patent = self.book.patents[self._random.choice(self.hot_patents())]
            return self._licence(patent, popular=True)
        patent = self._any()
        if roll < TRANSFERS_AND_LICENCES * TRANSFER_SHARE:
            return self._transfer(patent)
        if roll < TRANSFERS_AND_LICENCES:
            return self._licence(patent)
        return self.pledges.pledge(patent)

    def _lapse(self) -> Posting | None:
        """A patent free of every encumbrance lapses for its unpaid fee; it leaves the pool of
        patents later postings draw from."""
        numbers, day = self.book.numbers, self.book.day
        if len(numbers) <= self.popular + 1:
            return None
        for _ in range(LAPSE_TRIES):
            at = self._random.randrange(self.popular, len(numbers))
            held = self.book.patents[numbers[at]]
            if (held.pledge is None and held.pool is None and held.licensed_until < day
                    and held.open_until < day and held.exclusive_until < day):
                numbers[at] = numbers[-1]
                numbers.pop()
                return (lapse_path(held.number), {"status": "lapsed",
                                                  "effective_on": day.isoformat(),
                                                  "reason": LAPSE_REASON})
        return None


DEALS_FEED = "/v1/deals/batch"
PATENTS_FEED = "/v1/patents/batch"  # registrations, as a registry's daily file
STATUS_FEED = "/v1/patents/status/batch"  # status changes, as the gazette's lapses


def lapse_path(number: str) -> str:
    return f"/v1/patents/{number}/status"


def is_lapse(path: str) -> bool:
    return path.startswith("/v1/patents/") and path.endswith("/status")


def grouped(postings: Iterator[Posting], batch: int) -> Iterator[tuple[str, Any]]:
    """A stretch of the flow (at most `batch` postings: a day or two of a national year) as
    requests: each run of deals as one deals' batch, every other posting on its own, in
    order; and the stretch's fee lapses at its end as one status feed (`STATUS_FEED`, its
    items naming their patents), as an office's gazette publishes a day's lapses at once.

    Every posting stays lawful so: a lapsed patent has left the patents the flow draws from
    (`NationalFlow._lapse`), so no posting the lapse now follows names it, and nothing the
    lapse follows needed the patent lapsed."""
    deals: list[dict[str, Any]] = []
    lapses: list[dict[str, Any]] = []
    for path, body in postings:
        if is_lapse(path):
            lapses.append({"number": path.split("/")[3], **body})
            continue
        if path == DEALS:
            deals.append(body)
            if len(deals) < batch:
                continue
        if deals:
            yield feed_body(DEALS_FEED, deals)
            deals = []
        if path != DEALS:
            yield path, body
    if deals:
        yield feed_body(DEALS_FEED, deals)
    for start in range(0, len(lapses), batch):
        yield feed_body(STATUS_FEED, lapses[start:start + batch])


def feed_body(feed: str, items: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """A batch's request: its items under the name its endpoint takes, each on its own."""
    name = {DEALS_FEED: "deals", PATENTS_FEED: "patents", STATUS_FEED: "changes"}[feed]
    return feed, {name: items, "atomic": False}


def patent_feeds(bodies: list[dict[str, Any]], batch: int) -> Iterator[dict[str, Any]]:
    """Registrations as a registry's feed: batches of at most `batch` (`PATENTS_FEED`)."""
    for start in range(0, len(bodies), batch):
        yield feed_body(PATENTS_FEED, bodies[start:start + batch])[1]
