"""`indicators` on a log a scale run kept: the national decade's figure without reloading it.

    python -m bench.indicators_kept /tmp/ledger-bench-scale-XXXX [--queries 100]

Loading 10,000,000 events takes over an hour; the rollup's read is what changed. This starts
`patent-ledger serve` on the kept directory (bench/scale.py `--keep`) as the README starts it,
so its migrations run and the projector brings every read model, and the flagged deals'
adjustments (projections/indicator_flags.py), up to the head; it reports:

- how long that took after the upgrade (the adjustments computed afresh, once);
- GraphQL `indicators` (five years by quarter, bench/scale_figures.py's query) p50 and p99
  from an auditor's client, as the scale run measures it, on the primary and on a hot
  standby (`--no-replica` skips the copy);
- beside it, in the same run, the three ways of answering (projections/queries.py
  `INDICATOR_QUERIES`) timed as SQL statements on the primary without the read pool's 5 s
  limit: the adjusted rollup, the rollup taking flagged deals out at query time (before this
  change), and the exact query over the deal facts.

The figures go to BENCHMARKS.md (section `indicators-kept`) with the command.
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from bench import scale_figures
from bench.report import bench_main, machine_line, update_section
from bench.service import Service, head
from bench.write_path import progress
from projections.indicators import query_parameters
from projections.queries import INDICATOR_QUERIES

STATEMENT_RUNS = 3  # each way timed this many times (after one warm-up): the median is kept
STATEMENT_LIMIT_S = 120  # a way slower than this is reported as such, not waited for
SETTLE_WITHIN = 3_600.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    service = Service(args.workdir / "data")
    try:
        started = time.perf_counter()
        healthy = service.start(args.start_timeout)
        url = service.embedded_url()
        events = head(url)
        progress(f"serve healthy after {healthy:.1f} s on {events:,} events; waiting for the "
                 "projections and the flag adjustments")
        settled = _wait_settled(url, events)
        settle_s = time.perf_counter() - started
        progress(f"settled {settle_s:.1f} s after start; timing indicators")
        timings, failed = _graphql(service, args.queries)
        statements = _statements(url)
        standby = _on_standby(service, args) if args.replica else None
        with psycopg.connect(url) as conn:
            flags = conn.execute("SELECT count(*) FROM rm_indicator_flagged").fetchone()
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    finally:
        service.stop()
        _stop_cluster(service)
    return {"events": events, "healthy_s": healthy, "settle_s": settle_s, "settled": settled,
            "p50": _percentile(timings, 0.5), "p99": _percentile(timings, 0.99),
            "failed": failed, "statements": statements, "postgres": version,
            "flagged": flags[0] if flags else 0, "queries": args.queries, "standby": standby}


def _stop_cluster(service: Service) -> None:
    from bench.scale import _stop_cluster as stop

    stop(service)


def _wait_settled(url: str, events: int) -> bool:
    """Until every projection and the settler reached the head and the adjustments match."""
    deadline = time.monotonic() + SETTLE_WITHIN
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT min(position) FROM projection_positions").fetchone()
            valid = conn.execute(_valid()).fetchone()
            if row and row[0] >= events and valid and valid[0]:
                return True
            time.sleep(1)
    return False


def _valid() -> str:
    from projections.indicator_flag_sql import VALID

    return VALID


def _graphql(service: Service, queries: int) -> tuple[list[float], str | None]:
    from bench.read_path import query_latency

    timings, errors = query_latency(service, scale_figures.INDICATORS_QUERY,
                                    scale_figures.INDICATORS_SPAN, queries, lambda data: None)
    return timings, (f"{len(errors)} of {queries} failed: {errors[0]}" if errors else None)


def _on_standby(service: Service, args: argparse.Namespace) -> dict[str, Any]:
    """The same GraphQL query on a hot standby of the cluster, through a second `serve
    --no-projections` reading from it (bench/scale_figures.py `replica_reads`)."""
    from ledger.storage.standby import HotStandby

    workdir = service.data_dir.parent
    standby = HotStandby(service.embedded_url("postgres"), workdir / "standby")
    reader = Service(workdir / "reader", projections=False,
                     database_url=service.embedded_url())
    try:
        progress("copying the cluster to a hot standby (pg_basebackup)")
        standby.start()
        standby.wait_caught_up(1_800)
        reader.extra_env = {
            "LEDGER_READ_DATABASE_URL": standby.database_url(service.embedded_url()),
            "LEDGER_SIGNING_KEY": str(service.data_dir / "signing-key.pem")}
        reader.start(args.start_timeout)
        timings, failed = _graphql(reader, args.queries)
        return {"p50": _percentile(timings, 0.5), "p99": _percentile(timings, 0.99),
                "failed": failed}
    finally:
        reader.stop()
        standby.stop()
        shutil.rmtree(workdir / "standby", ignore_errors=True)


def _statements(url: str) -> dict[str, float | None]:
    """Median seconds of each way of answering the same question, as one SQL statement
    (None: it ran past STATEMENT_LIMIT_S)."""
    span = scale_figures.INDICATORS_SPAN
    parameters = query_parameters(date.fromisoformat(span["from"]),
                                  date.fromisoformat(span["to"]), "quarter", None, None, True,
                                  None)
    medians: dict[str, float | None] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"SET statement_timeout = '{STATEMENT_LIMIT_S}s'")
        for source, statement in INDICATOR_QUERIES.items():
            times = []
            try:
                for i in range(STATEMENT_RUNS + 1):
                    started = time.perf_counter()
                    conn.execute(statement, parameters).fetchall()
                    if i:
                        times.append(time.perf_counter() - started)
            except psycopg.errors.QueryCanceled:
                medians[source] = None
                progress(f"{source}: over {STATEMENT_LIMIT_S} s")
                continue
            medians[source] = sorted(times)[len(times) // 2]
            progress(f"{source}: {medians[source] * 1000:,.1f} ms (median of {STATEMENT_RUNS})")
    return medians


def _ms(seconds: float | None) -> str:
    return f"over {STATEMENT_LIMIT_S} s" if seconds is None else f"{seconds * 1000:,.1f} ms"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def write_report(result: dict[str, Any], args: argparse.Namespace, path: Path) -> None:
    s = result["statements"]
    lines = [
        "## `indicators` on the kept national decade (issue 21)",
        "",
        "Produced by:",
        "",
        "```bash",
        f"python -m bench.indicators_kept {args.workdir} --queries {args.queries}",
        "```",
        "",
        f"{machine_line(result['postgres'])} The log was loaded by `bash scripts/dev.sh bench "
        "scale --events 10000000 --keep` (section `scale-national`); this run started `serve` "
        "on it as the README starts it (its migrations ran, the projector settled the flagged "
        "deals' adjustments afresh), then timed the reads.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| events in the log | {result['events']:,} |",
        f"| flagged deals taken out | {result['flagged']:,} |",
        f"| serve healthy after start | {result['healthy_s']:.1f} s |",
        f"| adjustments settled after start (once, after the upgrade) | "
        f"{result['settle_s']:.1f} s |",
        f"| GraphQL `indicators` (five years by quarter) p50 / p99, {result['queries']} "
        f"queries | {result['p50']:,.1f} / {result['p99']:,.1f} ms"
        + (f" ({result['failed']})" if result["failed"] else "") + " |",
        *([f"| the same on a hot standby (a second `serve --no-projections` reading from it) "
           f"p50 / p99 | {result['standby']['p50']:,.1f} / {result['standby']['p99']:,.1f} ms"
           + (f" ({result['standby']['failed']})" if result["standby"]["failed"] else "")
           + " |"] if result.get("standby") else []),
        f"| the statement, adjusted rollup (now) | {_ms(s['adjusted'])} |",
        f"| the statement, rollup taking flagged deals out (before; baseline) | "
        f"{_ms(s['rollup'])} |",
        f"| the statement, exact over the deal facts (any filter) | {_ms(s['facts'])} |",
        *([f"| ratio before / now | {s['rollup'] / s['adjusted']:,.0f}x |"]
          if s["rollup"] and s["adjusted"] else []),
        "",
        f"Statements: medians of {STATEMENT_RUNS} runs after one warm-up, on the primary "
        "without the read pool's 5 s statement limit.",
    ]
    update_section(path, "indicators-kept", "\n".join(lines))


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workdir", type=Path, help="a directory bench scale --keep left")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--start-timeout", type=float, default=600.0)
    parser.add_argument("--no-replica", dest="replica", action="store_false",
                        help="skip the hot standby (a copy of the whole cluster)")


if __name__ == "__main__":
    bench_main(__doc__ or "", _arguments, run, write_report)
