"""Scale run: one growing log, `serve` restarted at each size as a user restarts it.

    python -m bench.scale [--sizes 1000000,3000000,10000000 | --events N] [--queries 500]

`--events N` grows the log to N, measuring at each default size below N on the way (so
`--events 10000000` reports at 1, 3 and 10 million). Since issue 21 the flow is China's yearly
mix of transfers, licences, pledges and fee lapses, scaled (bench/national_mix.py; `--mix
market` for the market's own deals), and each size also reports the figures of
bench/scale_figures.py: size per table and per event partition, the log's make-up, `verify`
and `export` times, the projections' catch-up rate, and GraphQL `patent` and `indicators` p99
on a hot standby beside the primary.

A lawful multi-year market (demo/market.py: parties, then patents and pools, then its flow;
more patents registered as the log grows) is posted through the public REST API of
`patent-ledger serve` as the README starts it (bench/service.py): parties and pools one by one
from 16 clients, patents in registration feeds of up to 1,000 (`POST /v1/patents/batch`)
from 2, then the flow from one client: its deals in batches of up to 1,000 in order, each
stretch's fee lapses in one status feed at its end (`POST /v1/patents/status/batch`), its
other postings (qualifications, size changes, classifications, risk payments: a few per
thousand) one request each to their own endpoints. At each size the service is stopped
(SIGTERM) and started again, and the run reports:

- time to healthy: from the process's start until /healthz answers 200 (the embedded
  PostgreSQL, which serve starts and stops, included);
- time to the first answered write: one deal posted as soon as /healthz answered, its 201
  measured from the process's start;
- memory of the service: the serve process and every descendant (batch preparer, projector
  child...), resident (RSS) and proportional (PSS, from /proc/PID/smaps_rollup) sums, the
  largest seen by a sampler every 0.5 s from the restart to the end of the size's
  measurements; PostgreSQL's processes are read the same way and given apart;
- single-deal throughput (16 clients) and batches of 1,000 one at a time, on the grown log;
- GraphQL `patent` (owners, licences, pledge, 50 events of history; bench/read_path.py's
  query) p50 and p99 over the market's popular patents, once the projections caught up.

Then it grows the same database to the next size. Progress (events, rate, ETA) goes to
stderr; the figures, the command and the machine go to BENCHMARKS.md (section `scale`).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

from bench import national_mix, scale_figures
from bench.http_client import Connection
from bench.report import bench_main, machine_line, update_section
from bench.service import (
    KEY,
    REQUEST_TIMEOUT,
    Memory,
    MemoryWatch,
    Service,
    ServiceFailed,
    head,
    wait_projected,
)
from bench.write_path import BATCH_SIZE, CLIENTS, post_all, progress
from demo.market import MarketFlow

SIZES = (100_000, 1_000_000, 3_000_000)  # issue 16: memory flat as the market's log grows
DECADE_SIZES = (1_000_000, 3_000_000, 10_000_000)  # issue 21 (--events): a national decade
BARS = {"memory_mib_at_1m": 1024.0, "memory_growth": 0.30, "healthy_s": 5.0,
        "patent_p99_ms": 25.0}
BAR_SIZE = 1_000_000  # the size the memory, restart and p99 bars are set at
EVENTS_PER_PATENT = 12  # patents registered per event of growth (as the read benchmark)
MAX_PARTIES = 5_000
POPULAR = 20  # patents that draw 2 % of the deals, so each has a long history to query
YEARS = 5  # the market's span at the largest size: deals a day follow from it
WARM_UP = 20  # GraphQL queries before the measured ones
FEED_CLIENTS = 2  # connections posting registration feeds: one is validated while one is judged


@dataclass
class SizeReport:
    events: int
    load_s: float
    load_rate: float
    settle_s: float  # end of load until every projection reached the head
    healthy_s: float
    first_write_s: float
    serve: Memory
    postgres: Memory
    single: float
    batches: float
    patent_p50_ms: float
    patent_p99_ms: float
    shortest_history: int
    figures: scale_figures.Figures  # issue 21 (bench/scale_figures.py)


class Progress:
    """`[scale] 45,000/100,000 events  5,100/s  ETA 0:11`, redrawn at most twice a second."""

    def __init__(self, target: int, start: int) -> None:
        self.target, self.start, self.began, self.drawn = target, start, time.monotonic(), 0.0

    def update(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.drawn < 0.5:
            return
        self.drawn = now
        rate = (done - self.start) / max(now - self.began, 1e-9)
        left = (self.target - done) / rate if rate > 0 else 0.0
        sys.stderr.write(f"\r[scale] {done:,}/{self.target:,} events  {rate:,.0f}/s  "
                         f"ETA {int(left) // 60}:{int(left) % 60:02d}  "
                         + ("\n" if final else ""))
        sys.stderr.flush()


class Market:
    """The market flow sized for the run, and what it has registered so far."""

    def __init__(self, sizes: list[int], national: bool = True) -> None:
        parties = max(20, min(MAX_PARTIES, sizes[0] // 20))
        self.national = national  # China's yearly mix (bench/national_mix.py), else the market's
        flow = national_mix.NationalFlow if national else MarketFlow
        self.flow = flow(parties=parties, patents=self._patents(sizes[0] - parties),
                         popular=POPULAR, deals_per_day=max(10, sizes[-1] // (YEARS * 365)))
        self.registered = False

    def _patents(self, events: int) -> int:
        """Patents to register for `events` more: a patent per EVENTS_PER_PATENT, and in the
        national mix one per expected lapse too (registrations then make part of the growth)."""
        if not self.national:
            return max(POPULAR * 2, events // EVENTS_PER_PATENT)
        per_flow = national_mix.registrations_per_flow_event()
        return max(POPULAR * 2, int(events * per_flow / (1 + per_flow)))

    def registrations(self, now: int, target: int) -> list[tuple[str, list[dict[str, Any]]]]:
        if not self.registered:
            self.registered = True
            return self.flow.registrations()  # parties, patents, pools
        return [("/v1/patents", self.flow.add_patents(self._patents(target - now)))]

    def requests(self, postings: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """The flow's next `postings` as requests: each run of deals as one batch (of at
        most BATCH_SIZE), every other posting (a qualification, a classification, a risk
        payment...) on its own to its endpoint, in order, and the stretch's fee lapses as
        one status feed at its end (bench/national_mix.py `grouped`)."""
        return national_mix.grouped(self.flow.postings(postings), BATCH_SIZE)

    def lanes(self, deals: int, lanes: int) -> list[Iterator[dict[str, Any]]]:
        """`deals` of the flow split by patent over `lanes`, each lane in the flow's order,
        so concurrent clients never overtake a deal another one depends on."""
        split: list[list[dict[str, Any]]] = [[] for _ in range(lanes)]
        for deal in self.flow.deals(deals):
            split[zlib.crc32(deal["patents"][0].encode()) % lanes].append(deal)
        return [iter(lane) for lane in split]


def load(service: Service, market: Market, target: int) -> tuple[int, float]:
    """Grow the log to `target` events through the API; (events now, seconds)."""
    url = service.embedded_url()
    now = started_at = head(url)
    bar = Progress(target, now)
    started = time.perf_counter()
    for path, bodies in market.registrations(now, target):
        if path == "/v1/patents":  # a registry's feed, as the lapses are the gazette's
            feeds = national_mix.patent_feeds(bodies, BATCH_SIZE)
            asyncio.run(post_all(service, national_mix.PATENTS_FEED, [feeds] * FEED_CLIENTS,
                                 patient=True))
        else:
            pending = iter(bodies)
            asyncio.run(post_all(service, path, [pending] * CLIENTS, patient=True))
        bar.update(head(url))
    asyncio.run(_post_batches(service, market, target, url, bar))
    now = head(url)
    bar.update(now, final=True)
    return now, (now - started_at) / (time.perf_counter() - started)


async def _post_batches(service: Service, market: Market, target: int, url: str,
                        bar: Progress) -> None:
    connection = await Connection("127.0.0.1", service.port, KEY).open()
    try:
        now = head(url)
        while now < target:
            for path, body in market.requests(min(BATCH_SIZE, target - now)):
                status, answer = await asyncio.wait_for(
                    connection.post_patiently(path, body), REQUEST_TIMEOUT)
                batch = path.endswith("/batch")
                if status != (200 if batch else 201) or \
                        (batch and orjson.loads(answer).get("failed")):
                    raise service.failed(f"the lawful market was refused ({status}, {path}): "
                                         f"{answer[:400]!r}")
            now = head(url)
            bar.update(now)
    finally:
        await connection.close()


def first_write(service: Service, market: Market) -> float:
    """Seconds from the process's start until one deal's 201 arrived."""
    body = next(market.flow.deals(1))
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {KEY}"},
                      timeout=REQUEST_TIMEOUT) as client:
        response = client.post("/v1/deals", json=body)
    if response.status_code != 201:
        raise service.failed(f"the first deal after start was answered "
                             f"{response.status_code}: {response.text[:300]}")
    return time.perf_counter() - service.started_at


def throughput(service: Service, market: Market, singles: int, batches: int) -> tuple[float,
                                                                                      float]:
    """(single deals/s from CLIENTS clients, deals/s of batches of 1,000 one at a time)."""
    count, seconds = asyncio.run(post_all(service, "/v1/deals", market.lanes(singles, CLIENTS)))
    single = count / seconds

    def bodies() -> Iterator[dict[str, Any]]:
        for _ in range(batches):
            yield {"deals": list(market.flow.deals(BATCH_SIZE)), "atomic": False}

    count, seconds = asyncio.run(post_all(service, "/v1/deals/batch", [bodies()]))
    return single, count * BATCH_SIZE / seconds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_size(service: Service, market: Market, args: argparse.Namespace, events: int,
                 load_s: float, load_rate: float) -> SizeReport:
    """Settle, restart, and read every figure of one size."""
    url = service.embedded_url()
    behind = scale_figures.slowest_projection(url)
    started = time.perf_counter()
    figures = scale_figures.Figures()
    figures.catch_up_rate = scale_figures.catch_up_rate(service, behind, events,
                                                        args.catch_up_timeout)
    settle_s = time.perf_counter() - started
    service.stop()
    with MemoryWatch(service) as watch:
        healthy = service.start(args.start_timeout)
        first = first_write(service, market)
        url = service.embedded_url()
        wait_projected(service, head(url), args.catch_up_timeout)
        single, batches = throughput(service, market, args.single_deals, args.batches)
        wait_projected(service, head(url), args.catch_up_timeout)
        from bench.read_path import patent_latency  # it builds its planted scenario at import

        timings, _, shortest = patent_latency(service, market.flow.hot_patents(), args.queries,
                                              WARM_UP)
        indicators, failed = scale_figures.indicators_p99(service, args.queries)
    figures.primary = scale_figures.Reads(percentile(timings, 0.99), indicators, failed)
    measure_database(service, market, args, figures)
    return SizeReport(events, load_s, load_rate, settle_s, healthy, first, watch.serve,
                      watch.postgres, single, batches, percentile(timings, 0.5),
                      percentile(timings, 0.99), shortest, figures)


def measure_database(service: Service, market: Market, args: argparse.Namespace,
                     figures: scale_figures.Figures) -> None:
    """Issue 21's figures of the grown database: sizes, make-up, verify, export, replica."""
    url = service.embedded_url()
    figures.tables, figures.partitions, figures.database_bytes = scale_figures.table_sizes(url)
    figures.kinds = scale_figures.kinds(url)
    scale_figures.verify_and_export(service, head(url), figures)
    progress(f"verify took {figures.verify_s:.1f} s, export of {figures.exported:,} events "
             f"{figures.export_s:.1f} s; reading on a hot standby")
    if args.replica:
        figures.replica = scale_figures.replica_reads(
            service, market.flow.hot_patents(), args.queries, WARM_UP, args.start_timeout)
    else:
        figures.replica = scale_figures.Reads(not_measured="--no-replica")


def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = ([s for s in DECADE_SIZES if s < args.events] + [args.events]) if args.events \
        else args.sizes
    if args.mix is None:  # issue 16's run on the market, issue 21's on the national mix
        args.mix = "national" if args.events else "market"
    if sorted(set(sizes)) != sizes or sizes[0] < 1_000:
        raise SystemExit("sizes must grow, from 1,000 events up")
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-scale-", dir=args.workdir))
    workdir.chmod(0o711)  # as root, PostgreSQL runs as `postgres` and must reach its data
    service = Service(workdir / "data")
    market = Market(sizes, national=args.mix == "national")
    reports: list[SizeReport] = []
    try:
        service.start(args.start_timeout)
        url = service.embedded_url()
        with psycopg.connect(url) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        progress(f"serving `{' '.join(service.command)}`, data in {service.data_dir}")
        for size in sizes:
            started = time.perf_counter()
            events, rate = load(service, market, size)
            load_s = time.perf_counter() - started
            progress(f"{events:,} events loaded in {load_s:,.0f} s ({rate:,.0f} events/s); "
                     "restarting serve")
            report = measure_size(service, market, args, events, load_s, rate)
            reports.append(report)
            if getattr(args, "out", None) is not None:  # each size's figures as soon as known
                write_report({"postgres": version, "sizes": [asdict(r) for r in reports],
                              "parties": market.flow.parties,
                              "deals_per_day": market.flow.deals_per_day,
                              "workdir": str(workdir), "mix": args.mix}, args, args.out)
            progress(f"{events:,} events: healthy after {report.healthy_s:.2f} s, first write "
                     f"after {report.first_write_s:.2f} s, serve's processes "
                     f"{_memory(report.serve)}, PostgreSQL {_memory(report.postgres)}; "
                     f"{report.single:,.0f} single deals/s, {report.batches:,.0f} deals/s "
                     f"batched; patent p99 {report.patent_p99_ms:.1f} ms")
        return {"postgres": version, "sizes": [asdict(r) for r in reports],
                "parties": market.flow.parties, "deals_per_day": market.flow.deals_per_day,
                "workdir": str(workdir), "mix": args.mix}
    finally:
        try:
            service.stop()
        finally:
            _stop_cluster(service)
            if args.keep:
                progress(f"kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)


def _stop_cluster(service: Service) -> None:
    """serve stops the cluster it started; after a failure, make sure nothing is left."""
    from ledger.storage.embedded_postgres import EmbeddedPostgres

    if (service.data_dir / "pgdata" / "postmaster.pid").exists():
        EmbeddedPostgres(service.data_dir).stop()


def _memory(memory: Memory | dict[str, Any]) -> str:
    m = memory if isinstance(memory, Memory) else Memory(**memory)
    pss = f", PSS {m.pss_mib:,.0f} MiB" if m.pss_mib is not None else ""
    return f"RSS {m.rss_mib:,.0f} MiB{pss} ({m.processes} processes)"


def memory_figure(memory: dict[str, Any]) -> float:
    """The figure the bars use: PSS when readable (shared pages counted once), else RSS."""
    return float(memory["pss_mib"] if memory["pss_mib"] is not None else memory["rss_mib"])


def bars(sizes: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """(bar, what was measured, met) for each bar of issue 16, at 1,000,000 events or, in a
    shorter run, at its largest size (said so)."""
    at = next((s for s in sizes if s["events"] >= BAR_SIZE), sizes[-1])
    where = f"{at['events']:,} events" + ("" if at["events"] >= BAR_SIZE
                                          else " (the run stopped short of 1,000,000)")
    first, last = sizes[0], sizes[-1]
    growth = memory_figure(last["serve"]) / memory_figure(first["serve"]) - 1
    return [
        (f"all the service's processes < {BARS['memory_mib_at_1m']:,.0f} MiB",
         f"{memory_figure(at['serve']):,.0f} MiB at {where}",
         memory_figure(at["serve"]) < BARS["memory_mib_at_1m"]),
        (f"memory at the largest size within {BARS['memory_growth']:.0%} of the smallest",
         f"{growth:+.0%} ({first['events']:,} to {last['events']:,} events)",
         abs(growth) <= BARS["memory_growth"]),
        (f"restart to healthy ≤ {BARS['healthy_s']:.0f} s",
         f"{at['healthy_s']:.2f} s at {where}", at["healthy_s"] <= BARS["healthy_s"]),
        (f"GraphQL patent p99 ≤ {BARS['patent_p99_ms']:.0f} ms",
         f"{at['patent_p99_ms']:.1f} ms at {where}",
         at["patent_p99_ms"] <= BARS["patent_p99_ms"]),
    ]


def write_report(result: dict[str, Any], args: argparse.Namespace, path: Path) -> None:
    sizes = result["sizes"]
    option = (f"--events {args.events}" if args.events
              else f"--sizes {','.join(str(s) for s in args.sizes)}")
    lines = [
        "## Scale: one growing log, serve restarted at each size (issues 16 and 21)",
        "",
        "Produced by:",
        "",
        "```bash",
        f"bash scripts/dev.sh bench scale{' --events ' + str(args.events) if args.events else ''}"
        f"   # = python -m bench.scale {option} "
        f"--single-deals {args.single_deals} --batches {args.batches} --queries {args.queries}",
        "```",
        "",
        machine_line(result["postgres"]),
        "",
        "| events | loaded at | restart: healthy | first write | serve's processes, RSS / PSS "
        "| PostgreSQL, RSS / PSS | single deals/s | batches of 1,000, deals/s "
        "| GraphQL patent p50 / p99 | projections caught up after load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in sizes:
        serve, pg = s["serve"], s["postgres"]
        lines.append(
            f"| {s['events']:,} | {s['load_rate']:,.0f} events/s | {s['healthy_s']:.2f} s | "
            f"{s['first_write_s']:.2f} s | {serve['rss_mib']:,.0f} / {_pss(serve)} MiB "
            f"({serve['processes']}) | {pg['rss_mib']:,.0f} / {_pss(pg)} MiB "
            f"({pg['processes']}) | {s['single']:,.0f} | {s['batches']:,.0f} | "
            f"{s['patent_p50_ms']:.1f} / {s['patent_p99_ms']:.1f} ms"
            + ("" if s["shortest_history"] >= 50
               else f" (histories of {s['shortest_history']}+, not 50)")
            + f" | {s['settle_s']:.1f} s |")
    lines += ["", "| bar (issue 16) | measured | met |", "|---|---|---|"]
    lines += [f"| {bar} | {measured} | {'yes' if met else 'NO'} |"
              for bar, measured, met in bars(sizes)]
    lines += scale_figures.report_lines(sizes)
    lines += [
        "",
        ("The flow: China's yearly mix, scaled (bench/national_mix.py; docs/scaling.md gives "
         "the sources and assumptions): per year 613,000 transfer and licence filings (2024), "
         "assumed 60 % transfers; 35,000 pledges (assumed); 1,500,000 fee lapses (assumed), "
         "each a `lapsed` status change posted side by side from 16 clients; patents "
         "registered ahead for the lapses. " if result.get("mix", "national") == "national"
         else "") +
        "Method: `patent-ledger serve` as the README's `bash scripts/dev.sh serve` starts it "
        "(bench/service.py: the same console script, default options, the embedded "
        "PostgreSQL with fsync on in a data directory of the run's own, LEDGER_API_KEYS set "
        "so the client knows its key). The log is a lawful market of `demo/market.py` "
        f"posted through the REST API: {result['parties']:,} parties, a patent per "
        f"{EVENTS_PER_PATENT} events of growth (registered before the deals of each step), "
        f"{result['deals_per_day']:,} deals a day (about {YEARS} years at the largest size "
        f"of the default run), {POPULAR} popular patents drawing 2 % "
        "of them; parties, patents and pools one request each from 16 clients, then the "
        "flow in order: deals in batches of up to 1,000 one at a time, the few other "
        "postings (qualifications, size changes, classifications, risk payments) one request "
        "each to their endpoints; no posting is refused. At each size the projections catch up, "
        "serve is stopped with SIGTERM and started again: healthy is the first 200 of "
        "/healthz (polled every 20 ms) after the process's start, first write the 201 of a "
        "deal posted as soon as it was healthy, both from the process's start, PostgreSQL's "
        "own start included (serve starts and stops the embedded cluster). Memory: the "
        "largest sums seen by a sampler (every 0.5 s, from the restart to the last query) "
        "over the serve process and all its descendants, and apart over PostgreSQL's "
        "processes; RSS counts shared pages in every process, PSS (smaps_rollup) shares "
        "them out, and the bars use PSS when it is readable. Throughput after the restart: "
        f"{args.single_deals:,} single deals from 16 clients (each client its own patents), "
        f"then {args.batches} batches of 1,000 one at a time; every client builds and "
        "encodes each request's JSON. GraphQL `patent` (bench/read_path.py's query: owners, "
        "licences, pledge, 50 events of history) over the popular patents, one at a time "
        f"on a keep-alive client, {args.queries} measured after {WARM_UP} warm-ups, once "
        "every projection reached the head.",
    ]
    # Issue 16's market run and issue 21's national decade each keep their own section.
    update_section(path, "scale" if result.get("mix") == "market" else "scale-national",
                   "\n".join(lines))


def _pss(memory: dict[str, Any]) -> str:
    return "-" if memory["pss_mib"] is None else f"{memory['pss_mib']:,.0f}"


def _sizes(text: str) -> list[int]:
    try:
        return [int(part.replace("_", "")) for part in text.split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError("sizes are whole numbers, comma-separated") from None


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=_sizes, default=list(SIZES),
                        help="event counts the log grows to, restarting serve at each "
                             "(default 100000,1000000,3000000: issue 16's market run)")
    parser.add_argument("--events", type=int, default=None,
                        help="a national decade: grow the log to N events, measuring at "
                             "1,000,000, 3,000,000 and 10,000,000 on the way (national mix)")
    parser.add_argument("--single-deals", type=int, default=3_000,
                        help="single deals posted at each size (16 clients)")
    parser.add_argument("--batches", type=int, default=10,
                        help="batches of 1,000 posted one at a time at each size")
    parser.add_argument("--queries", type=int, default=500,
                        help="GraphQL patent queries measured at each size")
    parser.add_argument("--start-timeout", type=float, default=600.0,
                        help="seconds serve may take to answer /healthz")
    parser.add_argument("--catch-up-timeout", type=float, default=3_600.0,
                        help="seconds the projections may take to reach the head")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the run's data directory is made (default: the system's "
                             "temporary directory)")
    parser.add_argument("--mix", choices=["national", "market"], default=None,
                        help="national: China's yearly mix of transfers, licences, pledges and "
                             "fee lapses (bench/national_mix.py); market: demo/market.py's deals "
                             "(default: national with --events, else market)")
    parser.add_argument("--no-replica", dest="replica", action="store_false",
                        help="skip the reads on a hot standby")
    parser.add_argument("--keep", action="store_true",
                        help="keep the data directory (its log) after the run")


def main() -> None:
    try:
        bench_main(__doc__, _arguments, run, write_report)
    except ServiceFailed as failed:
        print(f"[bench] {failed}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
