"""Write-path benchmark: deals/s for single requests and events/s through batches.

    python -m bench.write_path [--rounds 5] [--deals 3000] [--batches 20]

Each figure stands beside a baseline measured in the same run on the same server: plain
psycopg inserts of rows shaped like the ledger's stored events (uuid, version, topic, ~0.5 KB
of state), one row per transaction from 16 threads for the single-deal figure, 1,000-row
transactions for the batch figure. Medians of the rounds are written to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

from bench.http_client import Connection
from bench.report import bench_main, machine_line, update_section
from bench.workload import Workload
from ledger.storage.embedded_postgres import EmbeddedPostgres

CLIENTS = 16
BATCH_SIZE = 1_000
# Batches in flight: a platform keeps two going (while the writer stores one, the batch
# preparer validates the next); one at a time is measured too, beside it.
BATCH_LANES = 2
KEY = "bench-platform-key-0123456789"
AUDITOR_KEY = "bench-auditor-key-0123456789"  # anomalies and credit are not for platforms
STATE = b'{"effective_on":{"_type_":"date_iso","_data_":"2019-01-01"}' + b"x" * 440 + b"}"
BARS = {"single": 800.0, "batch": 10_000.0}


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


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the ledger through its API -------------------------------------------------------------


class Api:
    def __init__(self, database_url: str, startup_seconds: float = 30,
                 projections: bool = True) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        env = {**os.environ, "LEDGER_DATABASE_URL": database_url, "LEDGER_PORT": str(self.port),
               "LEDGER_API_KEYS": f"platform:{KEY},auditor:{AUDITOR_KEY}"}
        command = [sys.executable, "-m", "api.cli", "serve"]
        if not projections:
            command.append("--no-projections")
        self.process = subprocess.Popen(command, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + startup_seconds  # it folds the whole log first
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the API did not start")

    def peak_rss_mib(self) -> tuple[float, float]:
        """Peak resident memory (VmHWM) of the API process and of its batch preparer."""
        return (_peak_rss_mib(self.process.pid),
                max((_peak_rss_mib(pid) for pid in self._children()), default=0.0))

    def cpu_seconds(self) -> tuple[float, float]:
        """User + system CPU the API process and its batch preparer have used: steadier than
        wall time on a shared machine, and what the GIL bounds."""
        return (_cpu_seconds(self.process.pid),
                sum(_cpu_seconds(pid) for pid in self._children()))

    def _children(self) -> list[int]:
        tasks = Path(f"/proc/{self.process.pid}/task")
        return [int(pid) for task in tasks.iterdir()
                for pid in (task / "children").read_text().split()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


async def post_all(api: Api, path: str, lanes: list[Iterator[Any]]) -> tuple[int, float]:
    """Post each lane's bodies in order on its own keep-alive connection; (count, seconds)."""
    connections = [await Connection("127.0.0.1", api.port, KEY).open() for _ in lanes]
    failures: list[bytes] = []
    batch_answers: list[bytes] = []  # a batch is 200 even when some of its deals are refused
    count = 0

    async def worker(connection: Connection, bodies: Iterator[Any]) -> None:
        nonlocal count
        for body in bodies:
            status, answer = await connection.post(path, body)
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
    cluster: EmbeddedPostgres | None = None
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    workdir.chmod(0o711)
    try:
        if os.environ.get("BENCH_DATABASE_URL"):
            server = os.environ["BENCH_DATABASE_URL"]
        else:
            cluster = EmbeddedPostgres(workdir / "pg", fsync=True)
            server = cluster.start()
            progress(f"embedded PostgreSQL (fsync on) on port {cluster.port}")
        base = server.rpartition("/")[0]
        with psycopg.connect(server, autocommit=True) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            for name in ("bench_baseline", "bench_ledger"):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        baseline_url, ledger_url = f"{base}/bench_baseline", f"{base}/bench_ledger"
        with psycopg.connect(baseline_url, autocommit=True) as conn:
            conn.execute(BASELINE_TABLE)

        figures: dict[str, list[float]] = {
            "single": [], "batch": [], "batch_serial": [], "base_single": [], "base_batch": [],
            "batch_cpu_us": [], "batch_preparer_cpu_us": []}
        for r in range(args.rounds):
            figures["base_single"].append(baseline_single(baseline_url, args.deals))
            figures["base_batch"].append(baseline_batch(baseline_url, args.batches * BATCH_SIZE))
            progress(f"baseline round {r + 1}: {figures['base_single'][-1]:.0f} rows/s single, "
                     f"{figures['base_batch'][-1]:.0f} rows/s batched")

        api = Api(ledger_url, projections=args.projections)
        try:
            workload = Workload()
            progress("registering parties and patents")
            parties = iter(workload.party_bodies())
            asyncio.run(post_all(api, "/v1/parties", [parties] * CLIENTS))
            patents = iter(workload.patent_bodies())
            asyncio.run(post_all(api, "/v1/patents", [patents] * CLIENTS))
            for r in range(args.rounds):
                # Bodies are encoded before the clock starts: the load generator shares the
                # machine, and its own work must not be counted against the ledger.
                lanes = [iter([orjson.dumps(d) for d in
                               workload.deals(args.deals // CLIENTS, f"s{r}", lane, CLIENTS)])
                         for lane in range(CLIENTS)]
                count, seconds = asyncio.run(post_all(api, "/v1/deals", lanes))
                figures["single"].append(count / seconds)
                progress(f"round {r + 1}: {count / seconds:.0f} single deals/s")
                batched(api, workload, args.batches, args.batch_lanes, f"b{r}", figures)
                progress(f"round {r + 1}: {figures['batch'][-1]:.0f} events/s batched "
                         f"({args.batch_lanes} in flight), {figures['batch_cpu_us'][-1]:.0f} us "
                         f"of API CPU and {figures['batch_preparer_cpu_us'][-1]:.0f} us of the "
                         "batch preparer's per event")
                serial: dict[str, list[float]] = {"batch": [], "batch_cpu_us": [],
                                                  "batch_preparer_cpu_us": []}
                batched(api, workload, args.batches, 1, f"o{r}", serial)
                figures["batch_serial"].append(serial["batch"][0])
                progress(f"round {r + 1}: {serial['batch'][0]:.0f} events/s batched "
                         "(one at a time)")
            peak, preparer_peak = api.peak_rss_mib()
        finally:
            api.stop()
        return {"figures": figures, "peak_rss_mib": peak, "preparer_peak_rss_mib": preparer_peak,
                "postgres": version}
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def batched(api: Api, workload: Workload, batches: int, in_flight: int, prefix: str,
            figures: dict[str, list[float]]) -> None:
    """Post `batches` batches of BATCH_SIZE deals, `in_flight` at a time; add events/s and
    the API's and the batch preparer's CPU per event to `figures`."""
    lanes = [iter([orjson.dumps({"deals": list(workload.deals(
                BATCH_SIZE, f"{prefix}-{i}", lane, in_flight)), "atomic": False})
                   for i in range(batches // in_flight)])
             for lane in range(in_flight)]
    api_before, preparer_before = api.cpu_seconds()
    count, seconds = asyncio.run(post_all(api, "/v1/deals/batch", lanes))
    api_after, preparer_after = api.cpu_seconds()
    events = count * BATCH_SIZE
    figures["batch"].append(events / seconds)
    figures["batch_cpu_us"].append((api_after - api_before) / events * 1e6)
    figures["batch_preparer_cpu_us"].append((preparer_after - preparer_before) / events * 1e6)


def write_report(result: dict[str, Any], args: argparse.Namespace, path: Path) -> None:
    med = {k: statistics.median(v) for k, v in result["figures"].items()}
    rows = [
        ("single-deal POST /v1/deals, 16 clients", "deals/s", med["single"], med["base_single"],
         "one-row transactions, 16 threads", BARS["single"]),
        (f"POST /v1/deals/batch, 1,000 deals each, {args.batch_lanes} in flight", "events/s",
         med["batch"], med["base_batch"], "1,000-row transactions", BARS["batch"]),
        ("POST /v1/deals/batch, 1,000 deals each, one at a time", "events/s",
         med["batch_serial"], med["base_batch"], "1,000-row transactions", None),
    ]
    lines = [
        "## Write path (issue 2)",
        "",
        "Produced by:",
        "",
        "```bash",
        f"bash scripts/dev.sh bench write   # = python -m bench.write_path --rounds {args.rounds} "
        f"--deals {args.deals} --batches {args.batches} --batch-lanes {args.batch_lanes}"
        + ("" if args.projections else " --no-projections"),
        "```",
        "",
        machine_line(result["postgres"]) + " Medians of the rounds; the ratio is ledger / "
        "baseline.",
        "",
        "| workload | unit | ledger (median) | baseline (median) | baseline is | ratio | bar | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, unit, value, base, what, bar in rows:
        met = "-" if bar is None else "yes" if value >= bar else "NO"
        lines.append(f"| {name} | {unit} | {value:,.0f} | {base:,.0f} | {what} | "
                     f"{value / base:.2f} | {'-' if bar is None else f'{bar:,.0f}'} | {met} |")
    rounds = ", ".join(f"{k}: " + " / ".join(f"{v:,.0f}" for v in vs)
                       for k, vs in result["figures"].items())
    lines += [
        "",
        f"Peak memory (VmHWM): API process {result['peak_rss_mib']:.0f} MiB, its batch "
        f"preparer {result['preparer_peak_rss_mib']:.0f} MiB. CPU per batched event (user + "
        f"system, median, {args.batch_lanes} in flight): API process "
        f"{med['batch_cpu_us']:.0f} us, batch preparer {med['batch_preparer_cpu_us']:.0f} us.",
        "",
        f"Every round: {rounds}.",
        "",
        "Method: deals alternate transfers (naming the full owner set) and ordinary licences "
        "over 2,000 patents and 200 parties, all lawful, so every posting is judged by the "
        "rules and stored. Single deals go through 16 keep-alive connections of a minimal "
        "asyncio client; the writer gathers concurrent requests into one transaction (group "
        "commit) while each deal stays all or nothing. Batches go two at a time (a second "
        "keep-alive connection posts while the first waits for its answer), then one at a "
        "time, each on its own deals; bodies are encoded before the clock starts."
        " The baselines "
        "insert rows of the same shape as `ledger_events` into a table with the same keys, "
        "with no rules, no JSON and no HTTP: they show what the server itself allows.",
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
    parser.add_argument("--no-projections", dest="projections", action="store_false",
                        help="serve --no-projections: the write path alone")

def main() -> None:
    bench_main(__doc__, _arguments, run, write_report)


if __name__ == "__main__":
    main()
