"""The figures issue 21 adds to the scale benchmark at each size: the database's size per table
(the event table's partitions summed and listed), the log's make-up by kind, how long `verify`
and `export` take, the projections' catch-up rate, and GraphQL `patent` and `indicators` p99 on
a hot standby (through LEDGER_READ_DATABASE_URL) beside the primary's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench.service import Service, entry_point, wait_projected

EXPORT_MOST = 2_000_000  # the evidence bundle's limit (ledger/integrity/evidence.py MAX_EVENTS)
TOP_TABLES = 12  # tables listed by size; the rest summed
INDICATORS_QUERY = """query ($from: Date!, $to: Date!) {
  indicators(from: $from, to: $to, granularity: "quarter") {
    indicator period dimension value count patents amount } }"""
INDICATORS_SPAN = {"from": "2019-01-01", "to": "2023-12-31"}


@dataclass
class Reads:
    """GraphQL p99 (ms) on one server, or why it was not measured."""

    patent_p99_ms: float | None = None
    indicators_p99_ms: float | None = None
    not_measured: str | None = None
    lag_bytes: int | None = None  # the standby's replay lag when its reads began


@dataclass
class Figures:
    tables: list[tuple[str, int]] = field(default_factory=list)  # (table, bytes), largest first
    partitions: list[tuple[str, int | None, int | None, int]] = field(default_factory=list)
    database_bytes: int = 0
    kinds: list[tuple[str, int]] = field(default_factory=list)  # (topic, events)
    verify_s: float = 0.0
    export_s: float = 0.0
    exported: int = 0
    catch_up_rate: float = 0.0  # events/s the projections projected while behind after the load
    primary: Reads = field(default_factory=Reads)
    replica: Reads = field(default_factory=Reads)


def table_sizes(url: str) -> tuple[list[tuple[str, int]], list[tuple[str, int | None,
                                                                   int | None, int]], int]:
    """Every table's pg_total_relation_size (a partitioned table: its partitions summed), each
    event partition listed, and the whole database's size."""
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT c.relname, CASE WHEN c.relkind = 'p' THEN"
            " (SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0) FROM pg_inherits i"
            "  WHERE i.inhparent = c.oid) ELSE pg_total_relation_size(c.oid) END"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " ORDER BY 2 DESC").fetchall()
        parts = conn.execute("SELECT name, from_position, to_position, bytes"
                             " FROM ledger_event_partitions").fetchall()
        whole = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return ([(str(n), int(b)) for n, b in tables], [tuple(p) for p in parts],  # type: ignore[misc]
            int(whole[0]) if whole else 0)


def kinds(url: str) -> list[tuple[str, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT topic, count(*) FROM ledger_events GROUP BY 1"
                            " ORDER BY 2 DESC").fetchall()
    return [(str(t).rsplit(":", 1)[-1], int(n)) for t, n in rows]


def cli_seconds(service: Service, *command: str) -> float:
    """Seconds one `patent-ledger` command takes against the benchmark's database, as an
    operator runs it (its own process; serve keeps running beside it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATABASE_URL=service.embedded_url(), LEDGER_DATA_DIR=str(service.data_dir))
    started = time.perf_counter()
    done = subprocess.run([*entry_point(), *command], env=env, capture_output=True, text=True,
                          timeout=24 * 3600)
    if done.returncode != 0:
        raise service.failed(f"`patent-ledger {' '.join(command)}` exited "
                             f"{done.returncode}: {(done.stdout + done.stderr)[-400:]}")
    return time.perf_counter() - started


def verify_and_export(service: Service, head: int, figures: Figures) -> None:
    """`verify` over the whole log; `export` of its last EXPORT_MOST events at most (a bundle's
    limit: a longer log is exported in parts with --from), into a directory removed after."""
    figures.verify_s = cli_seconds(service, "verify")
    after = max(0, head - EXPORT_MOST)
    out = Path(tempfile.mkdtemp(prefix="bundle-", dir=service.data_dir.parent))
    try:
        figures.export_s = cli_seconds(service, "export", "--out", str(out / "b"),
                                       "--from", str(after))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    figures.exported = head - after


def catch_up_rate(service: Service, behind_from: int, head: int, within: float) -> float:
    """Events a second the projections projected from `behind_from` (the slowest projection's
    position when the load ended) to `head`."""
    seconds = wait_projected(service, head, within)
    return (head - behind_from) / seconds if seconds > 0 and head > behind_from else 0.0


def slowest_projection(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT coalesce(min(position), 0) FROM projection_positions"
                           ).fetchone()
    return int(row[0]) if row else 0


def indicators_p99(service: Service, queries: int) -> tuple[float, str | None]:
    """p99 (ms) of the `indicators` query, and the first error if some failed."""
    from bench.read_path import percentile, query_latency

    timings, errors = query_latency(service, INDICATORS_QUERY, INDICATORS_SPAN,
                                    max(20, queries // 5), lambda data: None)
    return percentile(timings, 0.99), (f"{len(errors)} indicators queries failed: {errors[0]}"
                                       if errors else None)


def reads_on(service: Service, hot: list[str], queries: int, warm_up: int) -> Reads:
    from bench.read_path import patent_latency, percentile

    timings, _, _ = patent_latency(service, hot, queries, warm_up)
    indicators, failed = indicators_p99(service, queries)
    return Reads(percentile(timings, 0.99), indicators, failed)


def replica_reads(service: Service, hot: list[str], queries: int, warm_up: int,
                  start_timeout: float) -> Reads:
    """A hot standby of the benchmark's cluster (ledger/storage/standby.py) and a second
    `serve --no-projections` reading from it (LEDGER_READ_DATABASE_URL; writes would go to the
    primary); the same queries as on the primary. Any failure is reported, not hidden."""
    try:
        from ledger.storage.standby import HotStandby
    except ImportError as missing:
        return Reads(not_measured=f"no hot standby in this build ({missing})")
    workdir = service.data_dir.parent
    standby = HotStandby(service.embedded_url("postgres"), workdir / "standby")
    reader = Service(workdir / "reader", projections=False,
                     database_url=service.embedded_url())
    try:
        standby.start()
        standby.wait_caught_up(600)
        reader.extra_env = {  # one signing key for every API process, as in production
            "LEDGER_READ_DATABASE_URL": standby.database_url(service.embedded_url()),
            "LEDGER_SIGNING_KEY": str(service.data_dir / "signing-key.pem")}
        reader.start(start_timeout)
        lag = standby.lag_bytes()
        reads = reads_on(reader, hot, queries, warm_up)
        reads.lag_bytes = lag
        return reads
    except Exception as error:  # the figure is then "not measured", with the reason
        return Reads(not_measured=f"{type(error).__name__}: {str(error)[:300]}")
    finally:
        reader.stop()
        standby.stop()
        shutil.rmtree(workdir / "standby", ignore_errors=True)


def mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:,.1f} MiB"


def report_lines(sizes: list[dict[str, Any]]) -> list[str]:
    """Issue 21's tables for BENCHMARKS.md, one row a size."""
    lines = ["", "Issue 21's figures at each size (GraphQL p99 over the popular patents and a "
             "five-year quarterly `indicators` query, as an auditor):", "",
             "| events | verify | export (events) | catch-up after the load | patent p99 primary"
             " / replica | indicators p99 primary / replica | database |",
             "|---|---|---|---|---|---|---|"]
    for s in sizes:
        f, p, r = s["figures"], s["figures"]["primary"], s["figures"]["replica"]
        lines.append(
            f"| {s['events']:,} | {f['verify_s']:.1f} s | {f['export_s']:.1f} s "
            f"({f['exported']:,}) | {_rate(f['catch_up_rate'])} | "
            f"{_ms(p['patent_p99_ms'])} / {_ms(r['patent_p99_ms'])} | "
            f"{_indicators(p)} / {_indicators(r)} | "
            f"{mib(f['database_bytes'])} |")
    for s in sizes:
        f = s["figures"]
        if f["primary"]["not_measured"]:
            lines.append(f"\nPrimary at {s['events']:,} events: {f['primary']['not_measured']}.")
        if f["replica"]["not_measured"] and f["replica"]["patent_p99_ms"] is not None:
            lines.append(f"\nReplica at {s['events']:,} events: {f['replica']['not_measured']}.")
        elif f["replica"]["not_measured"]:
            lines.append(f"\nReplica at {s['events']:,} events: not measured "
                         f"({f['replica']['not_measured']}).")
        elif f["replica"]["lag_bytes"] is not None:
            lines.append(f"\nReplica at {s['events']:,} events: {f['replica']['lag_bytes']:,} "
                         "bytes of WAL behind when its reads began.")
    last = sizes[-1]["figures"]
    lines += ["", f"Size per table at {sizes[-1]['events']:,} events (pg_total_relation_size; "
              "`ledger_events` is its partitions summed):", "", "| table | size |", "|---|---|"]
    lines += [f"| {t} | {mib(b)} |" for t, b in last["tables"][:TOP_TABLES]]
    rest = sum(b for _, b in last["tables"][TOP_TABLES:])
    lines += [f"| {len(last['tables']) - TOP_TABLES} other tables | {mib(rest)} |"
              if len(last["tables"]) > TOP_TABLES else "",
              "", "`ledger_events` partitions (positions from, to exclusive):", "",
              "| partition | from | to | size |", "|---|---|---|---|"]
    lines += [f"| {n} | {'MINVALUE' if lo is None else f'{lo:,}'} | {hi:,} | {mib(b)} |"
              for n, lo, hi, b in last["partitions"]]
    total = sum(n for _, n in last["kinds"]) or 1
    lines += ["", "The log's make-up at the largest size (events by kind):", "",
              "| kind | events | share |", "|---|---|---|"]
    lines += [f"| {k} | {n:,} | {n / total:.1%} |" for k, n in last["kinds"]]
    return lines


def _indicators(reads: dict[str, Any]) -> str:
    """The indicators p99, or that its queries failed (their timings are no latency)."""
    if "indicators queries failed" in (reads["not_measured"] or ""):
        return "failed"
    return _ms(reads["indicators_p99_ms"])


def _rate(value: float) -> str:
    return "none behind" if value == 0 else f"{value:,.0f} events/s"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"

