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
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

from bench.http_client import Connection
from bench.service import KEY, REQUEST_TIMEOUT, Service
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

    def _next(self) -> Posting | None:
        later = self.book.due()
        if later is not None:
            return self.pledges.settle(later)
        roll = self._random.random()
        if roll < LAPSE_SHARE:
            lapse = self._lapse()
            if lapse is not None:
                return lapse
        return super()._next()

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


def lapse_path(number: str) -> str:
    return f"/v1/patents/{number}/status"


def is_lapse(path: str) -> bool:
    return path.startswith("/v1/patents/") and path.endswith("/status")


def grouped(postings: Iterator[Posting], batch: int) -> Iterator[tuple[str, Any]]:
    """The flow as requests, in order: each run of deals as one batch (of at most `batch`),
    each run of lapses as one group (`("lapses", [(path, body), ...])`, posted side by side:
    they name distinct patents and no deal between them), every other posting on its own."""
    deals: list[dict[str, Any]] = []
    lapses: list[tuple[str, dict[str, Any]]] = []
    for path, body in postings:
        if path == DEALS:
            if lapses:
                yield "lapses", lapses
                lapses = []
            deals.append(body)
            if len(deals) == batch:
                yield "/v1/deals/batch", {"deals": deals, "atomic": False}
                deals = []
            continue
        if deals:
            yield "/v1/deals/batch", {"deals": deals, "atomic": False}
            deals = []
        if is_lapse(path):
            lapses.append((path, body))
            continue
        if lapses:
            yield "lapses", lapses
            lapses = []
        yield path, body
    if deals:
        yield "/v1/deals/batch", {"deals": deals, "atomic": False}
    if lapses:
        yield "lapses", lapses


async def post_side_by_side(service: Service, requests: list[tuple[str, dict[str, Any]]],
                            clients: int) -> float:
    """Post each (path, body) once, over `clients` keep-alive connections; seconds taken.
    A refusal stops the run: the flow is lawful, so one means the benchmark is wrong."""
    lanes = [requests[k::clients] for k in range(clients)]
    connections = [await Connection("127.0.0.1", service.port, KEY).open()
                   for lane in lanes if lane]
    refused: list[str] = []

    async def worker(connection: Connection, lane: list[tuple[str, dict[str, Any]]]) -> None:
        for path, body in lane:
            status, answer = await asyncio.wait_for(connection.post_patiently(path, body),
                                                    REQUEST_TIMEOUT)
            if status != 201:
                refused.append(f"{status} {path}: {answer[:300]!r}")

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c, lane) for c, lane in
                               zip(connections, [lane for lane in lanes if lane], strict=True)))
    finally:
        for connection in connections:
            await connection.close()
    if refused:
        raise service.failed(f"the lawful market was refused: {refused[0]}")
    return time.perf_counter() - started
