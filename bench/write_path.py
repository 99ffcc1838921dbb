"""Write-path benchmark: `serve` as the README starts it, beside `serve --no-projections`.

    python -m bench.write_path [--rounds 5] [--deals 3000] [--batches 20]

The service is `patent-ledger serve` with its default options on the embedded PostgreSQL
(bench/service.py), posted to by clients that build and encode each request's JSON. Each
round measures single deals (16 clients), batches of 1,000 two in flight and one at a time,
on the default `serve` and, as the first baseline, on `serve --no-projections` (the write path
alone), waiting after each measurement until the default serve's projections have caught up,
so the next one starts quiet. The second baseline is plain psycopg: rows shaped like the
ledger's stored events (uuid, version, topic, ~0.5 KB of state), one row per transaction from
16 threads, or 1,000-row transactions. Then catch-up: the default serve is stopped, every
projection rewound to position 0, serve started again, and the log the rounds wrote is
projected from zero; events/s from the process's start until every projection's position
reached the head. Medians of the rounds are written to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg

from bench.http_client import Connection
from bench.report import bench_main, machine_line, update_section
from bench.service import (
    AUDITOR_KEY,
    KEY,
    REQUEST_TIMEOUT,
    MemoryWatch,
    Service,
    head,
    rewind_projections,
    wait_projected,
)
from bench.workload import Workload
from ledger.storage.embedded_postgres import EmbeddedPostgres

__all__ = ["AUDITOR_KEY", "KEY", "Api", "progress"]

CLIENTS = 16
BATCH_SIZE = 1_000
# Batches in flight: a platform keeps two going (while the writer stores one, the batch
# preparer validates the next); one at a time is the bar's measure (issue 16).
BATCH_LANES = 2
STATE = b'{"effective_on":{"_type_":"date_iso","_data_":"2019-01-01"}' + b"x" * 440 + b"}"
BARS = {"single": 800.0, "batch_serial": 6_000.0, "catch_up": 3_000.0}
HEALTHY_WITHIN = 600.0  # seconds; today's serve folds the whole log at start
SETTLE_WITHIN = 900.0  # seconds for the projections to catch up after a measurement


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- baseline: plain psycopg inserts -------------------------------------------------------


BASELINE_TABLE = """
CREATE TABLE IF NOT EXISTS baseline_events (
    notification_id bigserial PRIMARY KEY,
    originator_id uuid NOT NULL,
    originator_version int NOT NULL,
    topic text NOT NULL,
    state bytea NOT NULL,
    UNIQUE (originator_id, originator_version)
)"""


def baseline_single(url: str, rows: int) -> float:
    """Rows/s, one row per transaction, from CLIENTS threads each with its own connection."""
    per_thread = rows // CLIENTS

    def insert(_: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for _ in range(per_thread):
                conn.execute(
                    "INSERT INTO baseline_events (originator_id, originator_version, topic, state)"
                    " VALUES (%s, 1, 'OwnershipTransferred', %s)", (uuid.uuid4(), STATE))

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_thread * CLIENTS / (time.perf_counter() - started)


def baseline_batch(url: str, rows: int) -> float:
    """Rows/s, BATCH_SIZE rows per transaction through unnest arrays."""
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for _ in range(rows // BATCH_SIZE):
            ids = [uuid.uuid4() for _ in range(BATCH_SIZE)]
            conn.execute(
                "INSERT INTO baseline_events (originator_id, originator_version, topic, state) "
                "SELECT * FROM unnest(%b::uuid[], %b::int[], %b::text[], %b::bytea[])",
                (ids, [1] * BATCH_SIZE, ["OwnershipTransferred"] * BATCH_SIZE,
                 [STATE] * BATCH_SIZE))
            conn.commit()
        return rows / (time.perf_counter() - started)


# --- the ledger through its API -------------------------------------------------------------


class Api(Service):
    """`serve` on a database given by URL, started at once (the read benchmark's handle)."""

    def __init__(self, database_url: str, startup_seconds: float = 30,
                 projections: bool = True) -> None:
        workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-serve-"))
        workdir.chmod(0o711)
        super().__init__(workdir / "data", projections=projections, database_url=database_url)
        self.start(startup_seconds)


async def post_all(api: Service, path: str, lanes: list[Iterator[Any]],
                   patient: bool = False) -> tuple[int, float]:
    """Post each lane's bodies in order on its own keep-alive connection; (count, seconds).
    `patient`: retry a 503 after its Retry-After (a load, not a throughput measurement)."""
    connections = [await Connection("127.0.0.1", api.port, KEY).open() for _ in lanes]
    failures: list[bytes] = []
    batch_answers: list[bytes] = []  # a batch is 200 even when some of its deals are refused
    count = 0

    async def worker(connection: Connection, bodies: Iterator[Any]) -> None:
        nonlocal count
        for body in bodies:
            send = connection.post_patiently if patient else connection.post
            status, answer = await asyncio.wait_for(send(path, body), REQUEST_TIMEOUT)
            if status not in (200, 201):
                failures.append(answer)
            elif path.endswith("/batch"):
                batch_answers.append(answer)
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c, lane) for c, lane in zip(connections, lanes, strict=True)))
    elapsed = time.perf_counter() - started
    for connection in connections:
        await connection.close()
    failures.extend(a for a in batch_answers if orjson.loads(a)["failed"])  # after the clock
    if failures:
        raise RuntimeError(f"{len(failures)} postings failed, first: {failures[0][:300]!r}")
    return count, elapsed


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.write_workers import measure_workers  # it imports this module

    cluster: EmbeddedPostgres | None = None
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    workdir.chmod(0o711)
    services: list[Service] = []
    try:
        if os.environ.get("BENCH_DATABASE_URL"):
            server = os.environ["BENCH_DATABASE_URL"]
            ledger_url: str | None = f"{server.rpartition('/')[0]}/bench_ledger"
        else:
            # The cluster `serve` would start in its data directory, started first so the
            # baselines share it; serve re-attaches to it as to any cluster already running.
            cluster = EmbeddedPostgres(workdir / "data", fsync=True)
            server = cluster.start()
            ledger_url = None
            progress(f"embedded PostgreSQL (fsync on) on port {cluster.port}")
        base = server.rpartition("/")[0]
        with psycopg.connect(server, autocommit=True) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        if args.workers_only:  # issue 21: 1, 2, 4 workers side by side, alone
            return {"postgres": version, "workers": measure_workers(server, workdir, args)}
        with psycopg.connect(server, autocommit=True) as conn:
            names = ["bench_baseline", "bench_write_path"] + (["bench_ledger"] if ledger_url
                                                               else [])
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        baseline_url = f"{base}/bench_baseline"
        with psycopg.connect(baseline_url, autocommit=True) as conn:
            conn.execute(BASELINE_TABLE)

        default = Service(workdir / "data", database_url=ledger_url)
        alone = Service(workdir / "no-projections", projections=False,
                        database_url=f"{base}/bench_write_path")
        services += [default, alone]
        for service in services:
            service.start(HEALTHY_WITHIN)
        progress(f"serving: `{' '.join(default.command)}` and `{' '.join(alone.command)}`")
        workloads = {id(default): Workload(), id(alone): Workload()}
        for service in services:
            register(service, workloads[id(service)])

        figures: dict[str, list[float]] = {k: [] for k in (
            "single", "batch", "batch_serial", "np_single", "np_batch", "np_batch_serial",
            "base_single", "base_batch", "batch_cpu_us", "settle_s")}
        for r in range(args.rounds):
            figures["base_single"].append(baseline_single(baseline_url, args.deals))
            figures["base_batch"].append(baseline_batch(baseline_url, args.batches * BATCH_SIZE))
            # Alternate which serve goes first, so a drift of the machine favours neither.
            for service in (services if r % 2 == 0 else services[::-1]):
                prefix = "" if service is default else "np_"
                measure(service, workloads[id(service)], args, r, prefix, figures)
            progress(
                f"round {r + 1}: single {figures['single'][-1]:,.0f} deals/s (no projections "
                f"{figures['np_single'][-1]:,.0f}, baseline {figures['base_single'][-1]:,.0f}"
                f" rows/s); batches one at a time {figures['batch_serial'][-1]:,.0f} "
                f"({figures['np_batch_serial'][-1]:,.0f}), {args.batch_lanes} in flight "
                f"{figures['batch'][-1]:,.0f} ({figures['np_batch'][-1]:,.0f}), baseline "
                f"{figures['base_batch'][-1]:,.0f} rows/s")
        peak = default.peak_rss_mib()
        alone.stop()
        catch = catch_up(default, args)
        workers = measure_workers(server, workdir, args) if args.workers else None
        return {"figures": figures, "peak_rss_mib": peak, "postgres": version, **catch,
                "workers": workers}
    finally:
        for service in services:
            try:
                service.stop()
            except Exception as error:  # the cleanup goes on
                progress(str(error))
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def register(service: Service, workload: Workload) -> None:
    parties = iter(workload.party_bodies())
    asyncio.run(post_all(service, "/v1/parties", [parties] * CLIENTS))
    patents = iter(workload.patent_bodies())
    asyncio.run(post_all(service, "/v1/patents", [patents] * CLIENTS))


def measure(service: Service, workload: Workload, args: argparse.Namespace, r: int,
            prefix: str, figures: dict[str, list[float]]) -> None:
    """One round on one service: single deals, then batches in flight, then one at a time;
    after each, the projections (if it runs them) catch up before the next starts."""
    lanes = [workload.deals(args.deals // CLIENTS, f"s{r}", lane, CLIENTS)
             for lane in range(CLIENTS)]
    count, seconds = asyncio.run(post_all(service, "/v1/deals", lanes))
    figures[prefix + "single"].append(count / seconds)
    settle(service, figures, prefix)
    cpu_before = sum(service.cpu_seconds())
    figures[prefix + "batch"].append(
        batched(service, workload, args.batches, args.batch_lanes, f"b{r}"))
    if not prefix:
        figures["batch_cpu_us"].append((sum(service.cpu_seconds()) - cpu_before)
                                       / (args.batches * BATCH_SIZE) * 1e6)
    settle(service, figures, prefix)
    figures[prefix + "batch_serial"].append(
        batched(service, workload, args.batches, 1, f"o{r}"))
    settle(service, figures, prefix)


def settle(service: Service, figures: dict[str, list[float]], prefix: str) -> None:
    if service.projections:
        url = service.embedded_url()
        figures["settle_s"].append(wait_projected(service, head(url), SETTLE_WITHIN))


def batched(service: Service, workload: Workload, batches: int, in_flight: int,
            prefix: str) -> float:
    """Deals/s of `batches` batches of BATCH_SIZE deals, `in_flight` at a time; each lane
    builds its next body when it posts it."""

    def lane_bodies(lane: int) -> Iterator[dict[str, Any]]:
        for i in range(batches // in_flight):
            yield {"deals": list(workload.deals(BATCH_SIZE, f"{prefix}-{i}", lane, in_flight)),
                   "atomic": False}

    count, seconds = asyncio.run(post_all(service, "/v1/deals/batch",
                                          [lane_bodies(lane) for lane in range(in_flight)]))
    return count * BATCH_SIZE / seconds


def catch_up(service: Service, args: argparse.Namespace) -> dict[str, Any]:
    """Rewind every projection to 0 and start serve again: events/s from its start until
    every projection reached the head; the page + COPY baseline on the same log."""
    from bench.read_path import baseline_catch_up  # read_path imports this module

    service.stop()
    url = service.embedded_url()
    rewind_projections(url)
    events = head(url)
    progress(f"catch-up of {events:,} events from zero: starting serve again")
    with MemoryWatch(service) as watch:
        healthy = service.start(HEALTHY_WITHIN)
        wait_projected(service, events, max(SETTLE_WITHIN, events / 100))
        seconds = time.perf_counter() - service.started_at
    rate = events / seconds
    progress(f"catch-up: {rate:,.0f} events/s ({seconds:.1f} s from start, healthy after "
             f"{healthy:.1f} s)")
    service.stop()
    return {"catch_up": rate, "catch_up_events": events, "catch_up_s": seconds,
            "catch_up_healthy_s": healthy,
            "catch_up_memory": watch.serve, "base_catch_up": baseline_catch_up(url, events)}


def write_report(result: dict[str, Any], args: argparse.Namespace, path: Path) -> None:
    from bench.write_workers import write_workers_report  # it imports this module

    if result.get("workers"):
        write_workers_report(result["workers"], result["postgres"], args, path)
    if args.workers_only:
        return
    med = {k: statistics.median(v) if v else float("nan")
           for k, v in result["figures"].items()}
    rows = [
        ("single-deal POST /v1/deals, 16 clients", "deals/s", med["single"], med["np_single"],
         med["base_single"], "one-row transactions, 16 threads", BARS["single"]),
        ("POST /v1/deals/batch, 1,000 deals each, one at a time", "deals/s",
         med["batch_serial"], med["np_batch_serial"], med["base_batch"],
         "1,000-row transactions", BARS["batch_serial"]),
        (f"POST /v1/deals/batch, 1,000 deals each, {args.batch_lanes} in flight", "deals/s",
         med["batch"], med["np_batch"], med["base_batch"], "1,000-row transactions", None),
        (f"catch-up of all projections from zero, {result['catch_up_events']:,} events",
         "events/s", result["catch_up"], None, result["base_catch_up"],
         "page the log + COPY one index row per event", BARS["catch_up"]),
    ]
    lines = [
        "## Write path (issues 2 and 16)",
        "",
        "Produced by:",
        "",
        "```bash",
        f"bash scripts/dev.sh bench write   # = python -m bench.write_path --rounds {args.rounds} "
        f"--deals {args.deals} --batches {args.batches} --batch-lanes {args.batch_lanes}",
        "```",
        "",
        machine_line(result["postgres"]) + " Medians of the rounds.",
        "",
        "| workload | unit | `serve` (README) | `serve --no-projections` | ratio | plain SQL "
        "| baseline is | ratio | bar | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, unit, value, alone, base, what, bar in rows:
        met = "-" if bar is None else "yes" if value >= bar else "NO"
        lines.append(
            f"| {name} | {unit} | {value:,.0f} | {'-' if alone is None else f'{alone:,.0f}'} | "
            f"{'-' if alone is None else f'{value / alone:.2f}'} | {base:,.0f} | {what} | "
            f"{value / base:.2f} | {'-' if bar is None else f'≥ {bar:,.0f}'} | {met} |")
    rounds = ", ".join(f"{k}: " + " / ".join(f"{v:,.1f}" if k == "settle_s" else f"{v:,.0f}"
                                             for v in vs)
                       for k, vs in result["figures"].items())
    memory = result["catch_up_memory"]
    lines += [
        "",
        f"Peak memory (VmHWM) of the default serve after the rounds: serve process "
        f"{result['peak_rss_mib'][0]:,.0f} MiB, its largest child "
        f"{result['peak_rss_mib'][1]:,.0f} MiB. During the catch-up, all its processes "
        f"together: {memory.rss_mib:,.0f} MiB resident"
        + (f", {memory.pss_mib:,.0f} MiB proportional (PSS)" if memory.pss_mib is not None
           else "") + f" at most ({memory.processes} processes). CPU of the default serve's "
        f"processes per batched deal ({args.batch_lanes} in flight, median): "
        f"{med['batch_cpu_us']:,.0f} us. Catch-up took {result['catch_up_s']:,.1f} s from "
        f"the process's start (PostgreSQL already up), of which {result['catch_up_healthy_s']:,.1f}"
        " s until /healthz answered: "
        f"{result['catch_up_events'] / max(result['catch_up_s'] - result['catch_up_healthy_s'], 1e-9):,.0f}"
        " events/s counted from then.",
        "",
        f"Every round: {rounds} (settle_s: seconds the default serve's projections took to "
        "catch up after each measurement).",
        "",
        "Method: both services are `patent-ledger serve` started as the README's "
        "`bash scripts/dev.sh serve` starts it (bench/service.py: the same console script, "
        "the embedded PostgreSQL in a data directory of the benchmark's own, LEDGER_API_KEYS "
        "set so the client knows its key), the default one beside one started with "
        "`--no-projections` on another database of the same cluster. Deals alternate "
        "transfers (naming the full owner set) and ordinary licences over 2,000 patents and "
        "200 parties, all lawful, so every posting is judged by the rules and stored. Single "
        "deals go through 16 keep-alive connections of a minimal asyncio client; batches go "
        f"{args.batch_lanes} in flight, then one at a time, each on its own deals. The client "
        "builds and encodes each request's JSON body as it sends it (`bench/http_client.py` "
        "refuses bytes encoded beforehand), so its work is counted, as a user's would be. "
        "After each measurement the default serve's projections catch up before the next "
        "starts. Catch-up: the default serve is stopped, every read model emptied and each "
        "projection's position set to 0, serve started again and timed from its process "
        "start until every projection's position reached the log's head. The plain-SQL "
        "baselines insert rows of the same shape as `ledger_events` into a table with the "
        "same keys, with no rules, no JSON and no HTTP, or page the log and COPY one index "
        "row per event: they show what the server itself allows.",
        "",
        "What the figures say, and their history, follow this section (written by hand).",
    ]
    update_section(path, "write_path", "\n".join(lines))


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--deals", type=int, default=3_000, help="single deals per round")
    parser.add_argument("--batches", type=int, default=20, help="batches of 1,000 per round")
    parser.add_argument("--batch-lanes", type=int, default=BATCH_LANES,
                        help="batches in flight at once (each lane posts its own in order)")
    # --- issue 21: `serve --workers N` side by side (bench/write_workers.py) ---
    from bench.write_workers import WORKER_COUNTS, worker_counts

    parser.add_argument("--workers", type=worker_counts, default=WORKER_COUNTS,
                        metavar="N,N,...", help="after the rounds, measure `serve --workers N` "
                        "for each N (default 1,2,4; empty: none)")
    parser.add_argument("--workers-only", action="store_true",
                        help="measure only the worker counts (BENCHMARKS.md's write_workers)")
    # --- end issue 21 ---

def main() -> None:
    bench_main(__doc__, _arguments, run, write_report)


if __name__ == "__main__":
    main()
