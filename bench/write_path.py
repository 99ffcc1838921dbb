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
from ledger.embedded_postgres import EmbeddedPostgres

CLIENTS = 16
BATCH_SIZE = 1_000
BATCH_LANES = 1  # batches in flight; one measured faster than two (the GIL is shared)
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

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self) -> float:
        """User + system CPU the API process has used: steadier than wall time on a shared
        machine, and what the GIL bounds."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

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

        figures: dict[str, list[float]] = {"single": [], "batch": [], "base_single": [],
                                           "base_batch": [], "batch_cpu_us": []}
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
                batch_lanes = [
                    iter([orjson.dumps({"deals": list(workload.deals(
                        BATCH_SIZE, f"b{r}-{i}", lane, BATCH_LANES)), "atomic": False})
                        for i in range(args.batches // BATCH_LANES)])
                    for lane in range(BATCH_LANES)
                ]
                cpu_before = api.cpu_seconds()
                count, seconds = asyncio.run(post_all(api, "/v1/deals/batch", batch_lanes))
                figures["batch"].append(count * BATCH_SIZE / seconds)
                figures["batch_cpu_us"].append(
                    (api.cpu_seconds() - cpu_before) / (count * BATCH_SIZE) * 1e6)
                progress(f"round {r + 1}: {count * BATCH_SIZE / seconds:.0f} events/s batched, "
                         f"{figures['batch_cpu_us'][-1]:.0f} us of API CPU per event")
            peak = api.peak_rss_mib()
        finally:
            api.stop()
        return {"figures": figures, "peak_rss_mib": peak, "postgres": version}
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def write_report(result: dict[str, Any], args: argparse.Namespace, path: Path) -> None:
    med = {k: statistics.median(v) for k, v in result["figures"].items()}
    rows = [
        ("single-deal POST /v1/deals, 16 clients", "deals/s", med["single"], med["base_single"],
         "one-row transactions, 16 threads", BARS["single"]),
        ("POST /v1/deals/batch, 1,000 deals each", "events/s", med["batch"], med["base_batch"],
         "1,000-row transactions", BARS["batch"]),
    ]
    lines = [
        "## Write path (issue 2)",
        "",
        "Produced by:",
        "",
        "```bash",
        f"bash scripts/dev.sh bench write   # = python -m bench.write_path --rounds {args.rounds} "
        f"--deals {args.deals} --batches {args.batches}"
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
        lines.append(f"| {name} | {unit} | {value:,.0f} | {base:,.0f} | {what} | "
                     f"{value / base:.2f} | {bar:,.0f} | {'yes' if value >= bar else 'NO'} |")
    rounds = ", ".join(f"{k}: " + " / ".join(f"{v:,.0f}" for v in vs)
                       for k, vs in result["figures"].items())
    lines += [
        "",
        f"API process peak memory (VmHWM): {result['peak_rss_mib']:.0f} MiB. API process CPU "
        f"per batched event (user + system, median): {med['batch_cpu_us']:.0f} us.",
        "",
        f"Every round: {rounds}.",
        "",
        "Method: deals alternate transfers (naming the full owner set) and ordinary licences "
        "over 2,000 patents and 200 parties, all lawful, so every posting is judged by the "
        "rules and stored. Single deals go through 16 keep-alive connections of a minimal "
        "asyncio client; the writer gathers concurrent requests into one transaction (group "
        "commit) while each deal stays all or nothing. Batches go one at a time, as an "
        "importer sends them; bodies are encoded before the clock starts."
        " The baselines "
        "insert rows of the same shape as `ledger_events` into a table with the same keys, "
        "with no rules, no JSON and no HTTP: they show what the server itself allows.",
        "",
        ANALYSIS,
    ]
    update_section(path, "write_path", "\n".join(lines))


ANALYSIS = """### Where the time goes (batch path)

The API is one Python process: parsing, judging, encoding and answering share one interpreter
lock, so its CPU per event bounds the batch figure (about 100 us a deal is 10,000 deals/s).
Per thread, on 2026-11-26 after the changes below (`/proc/PID/task/*/stat` over 40 batches):
the writer thread about 68 to 77 us an event, the event loop about 20 us (pydantic-core
validating the batch body from raw bytes is most of it; building and encoding the answer
about 1 us).

What the writer no longer spends (2026-11-26, second half of the day):

- **A parallel plan under the lock.** The catch-up read inside each group's transaction was
  open-ended (`notification_id > $1`). On a table growing by thousands of rows a second the
  planner trusted stale statistics and started two parallel workers to find nothing: about
  10 ms per group, under the table lock, until autovacuum caught up. Every read of the log is
  now a page with a `LIMIT` (an index scan whatever the statistics say).
- **Waiting for PostgreSQL.** A group's events are sent 200 at a time as pipelined inserts
  (psycopg pipeline mode: the insert is sent and the writer goes on judging), so PostgreSQL
  inserts on the second core while Python judges; positions are read back and the links sent
  once judging is done (`ledger/group_append.py`). A large atomic batch is sent the same way
  behind a savepoint. A helper thread doing the inserts was tried first: handing the
  interpreter lock back and forth cost more CPU than the overlap saved.
- **Generic encoding and construction.** Stored events are encoded by the ledger's own path
  (the library mapper's exact bytes, about twice as fast: `ledger/stored_events.py`), deal
  events are built without the frozen dataclass's `__init__`, the fingerprint is cut from
  pydantic's serialised bytes instead of serialising with `exclude`, stream ids skip
  `UUID.__init__`, and INV-4 answers the usual case before making any facts.
- Collecting the young generation every 100,000 allocations instead of 20,000 measured
  about 5 us less an event here, but was reverted: the read benchmark run with it showed the
  GraphQL `patent` query's p99 at 77 ms instead of 30 (`ledger/heap.py`).

Earlier (2026-11-26 morning): the cyclic collector rescanned the whole in-memory register on
every full collection (CPU per batched event grew from 131 to 199 us across three rounds);
the writer and the projections now freeze what they fold every 10,000 events.

The server is far from its limit (the batched baseline is 5 to 10 times faster). On these
shared machines the same code measures differently from one quarter of an hour to the next:
the batched baseline itself moved between about 47,000 and 76,000 rows/s on 2026-11-26, and
the ledger's batched figure with it (in-process runs of the same code: 7,200 to 12,600
events/s). Compare the ratio to the baseline more than the absolute figure. Going well past
the bar on every run needs the parsing off the writer's interpreter (a second process) or
much less Python per deal; the remaining per-deal costs are spread thin (validation, the
rules, folding into the register, encoding, the answer), none above about 15 %.

### The runs of 2026-11-26 and the checkpointer

Official runs of this command on the day's final write path (medians of 5 rounds, batched
events/s): 9,637 and 8,008 at 06:42 and 06:45 (with young collections every 100,000
allocations, since reverted), 7,977 at 07:31 and 8,362 at 07:32 (the table above). Rounds
ranged from 6,674 to 11,256. An uninterrupted run of 100 batches at 07:32 (no single-deal
rounds between) measured 7,400 to 12,500 events/s per ten batches, 74 to 124 us of API CPU an
event, with no trend. In the last two official runs the later rounds were the slower ones:
`serve` signs its first checkpoint 60 s after it starts, which falls in round 4 or 5, and the
first checkpoint of 132,200 links costs about 0.46 s of the API's CPU (the Merkle tree's
leaves and nodes). In steady state that is about 3.5 us an event, once a minute.

### The API with its projections in the same process

`patent-ledger serve` runs the projections beside the API by default. On these two cores they
share one interpreter lock with the writer and the event loop, and the write figures fall to
about half: a run on 2026-11-25 measured 542 and 455 single deals/s and 3,094 to 3,629 batched
events/s with the register, audit and anomaly projections following in the same process. The
figures above are the write path alone (`serve --no-projections`, the projections in their own
`patent-ledger project` process, as docker-compose runs them); the read-path section measures
the projections.

Since 2026-11-25 the writer judges each group under the event table's lock (so several writer
processes share one log without retries); for a single API process that adds one catch-up
read inside the transaction and keeps the lock while judging, which is where the writer was
anyway.

### Run-to-run variation

Within one session the single-row baseline has measured between about 4,200 and 6,600 rows/s
from one run to the next. Before the writer lingered 2 ms for more postings under load (group
commit gathering), single-deal medians were 660 to 1,000 deals/s (ratio 0.15 to 0.16); with it,
1,020 to 1,090 (ratio 0.17 to 0.21).
"""


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--deals", type=int, default=3_000, help="single deals per round")
    parser.add_argument("--batches", type=int, default=20, help="batches of 1,000 per round")
    parser.add_argument("--no-projections", dest="projections", action="store_false",
                        help="serve --no-projections: the write path alone")

def main() -> None:
    bench_main(__doc__, _arguments, run, write_report)


if __name__ == "__main__":
    main()
