"""The write path with several API processes (issue 21): `serve --workers N` for N = 1, 2, 4
side by side.

    python -m bench.write_path --workers 1,2,4            (with the rest of the write benchmark)
    python -m bench.write_path --workers-only --workers 1,2,4   (this comparison alone)

Each N is `patent-ledger serve --workers N` as the README starts it (projections on, the
projector child apart), on a database of its own in the benchmark's cluster, registered with
the same workload. Each round measures, for every N in turn (the order alternates between
rounds, so a drift of the machine favours none): single deals from 16 keep-alive clients
(SO_REUSEPORT spreads their connections over the workers), then batches of 1,000 deals posted
one at a time; the projections catch up after each measurement, so the next starts quiet.
Each round is the write benchmark's own (`measure`: batches two in flight are measured too).
Medians of the rounds go to BENCHMARKS.md's `write_workers` section. On a 2-core machine
shared with PostgreSQL and the clients, more workers than cores mostly add contention: the
table says what this machine does, not what a larger one would.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

import psycopg

from bench.report import machine_line, update_section
from bench.service import Service
from bench.workload import Workload
from bench.write_path import BATCH_LANES, CLIENTS, HEALTHY_WITHIN, measure, progress, register

WORKER_COUNTS = (1, 2, 4)
KINDS = ("single", "batch_serial", "batch")  # the write benchmark's measurements, reported


def worker_counts(raw: str) -> tuple[int, ...]:
    """--workers: comma-separated counts from 1 to 8, or empty for none."""
    from api.workers import MAX_WORKERS

    try:
        counts = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        counts = (0,)
    if any(not 1 <= n <= MAX_WORKERS for n in counts):
        raise argparse.ArgumentTypeError(
            f"--workers lists worker counts from 1 to {MAX_WORKERS}, like 1,2,4; not {raw!r}")
    return counts


def measure_workers(server_url: str, workdir: Path, args: argparse.Namespace
                    ) -> dict[int, dict[str, Any]]:
    """Figures per worker count: deals/s of each round, and the services' memory."""
    base = server_url.rpartition("/")[0]
    services: dict[int, Service] = {}
    figures: dict[int, dict[str, Any]] = {
        n: {k: [] for k in (*KINDS, "batch_cpu_us", "settle_s")} for n in args.workers}
    try:
        with psycopg.connect(server_url, autocommit=True) as conn:
            for n in args.workers:
                conn.execute(f'DROP DATABASE IF EXISTS "bench_workers_{n}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "bench_workers_{n}" TEMPLATE template0')
        workloads = {n: Workload() for n in args.workers}
        for n in args.workers:
            services[n] = Service(workdir / f"workers-{n}", workers=n,
                                  database_url=f"{base}/bench_workers_{n}")
            services[n].start(HEALTHY_WITHIN)
            register(services[n], workloads[n])
        progress("serving: " + ", ".join(f"`{' '.join(s.command)}`" for s in services.values()))
        for r in range(args.rounds):
            for n in (args.workers if r % 2 == 0 else args.workers[::-1]):
                measure(services[n], workloads[n], args, r, "", figures[n])
            progress(f"workers round {r + 1}: " + "; ".join(
                f"{n}: single {figures[n]['single'][-1]:,.0f}, batches one at a time "
                f"{figures[n]['batch_serial'][-1]:,.0f} deals/s" for n in args.workers))
        for n, service in services.items():
            figures[n]["memory"] = service.memory()
    finally:
        for service in services.values():
            try:
                service.stop()
            except Exception as error:  # the cleanup goes on
                progress(str(error))
    return figures


def write_workers_report(figures: dict[int, dict[str, Any]], postgres: str,
                         args: argparse.Namespace, path: Path) -> None:
    counts = list(figures)
    med = {n: {k: statistics.median(figures[n][k]) for k in KINDS} for n in counts}
    one = med.get(1)

    def cell(n: int, kind: str) -> str:
        ratio = f" ({med[n][kind] / one[kind]:.2f}x)" if one and n != 1 else ""
        return f"{med[n][kind]:,.0f}{ratio}"

    lines = [
        "## Write path with several API processes (issue 21)",
        "",
        "Produced by:",
        "",
        "```bash",
        f"python -m bench.write_path --workers-only --workers {','.join(map(str, counts))} "
        f"--rounds {args.rounds} --deals {args.deals} --batches {args.batches} "
        f"--batch-lanes {args.batch_lanes}",
        "```",
        "",
        "(`bash scripts/dev.sh bench write` runs it after the write path's rounds.) "
        + machine_line(postgres) + " Medians of the rounds; beside each figure, its ratio to "
        "one worker.",
        "",
        "| workload | unit | " + " | ".join(f"`serve --workers {n}`" for n in counts) + " |",
        "|---|---|" + "---|" * len(counts),
        f"| single-deal POST /v1/deals, {CLIENTS} clients | deals/s | "
        + " | ".join(cell(n, "single") for n in counts) + " |",
        "| POST /v1/deals/batch, 1,000 deals each, one at a time | deals/s | "
        + " | ".join(cell(n, "batch_serial") for n in counts) + " |",
        f"| POST /v1/deals/batch, 1,000 deals each, {args.batch_lanes} in flight | deals/s | "
        + " | ".join(cell(n, "batch") for n in counts) + " |",
        "| resident memory of all the service's processes after the rounds | MiB | "
        + " | ".join(f"{figures[n]['memory'].rss_mib:,.0f} ({figures[n]['memory'].processes}"
                     " processes)" for n in counts) + " |",
        "",
        "Every round: " + "; ".join(f"{n} workers: " + ", ".join(
            f"{kind} " + " / ".join(f"{v:,.0f}" for v in figures[n][kind]) for kind in KINDS)
            for n in counts) + ".",
        "",
        "Method: each column is `patent-ledger serve --workers N` started as the README "
        "starts it (bench/service.py), with the projector child, on a database of its own in "
        "the same embedded cluster; every worker is an API process with its own writer and "
        "batch preparer, and the writers take turns under the event table's lock "
        "(api/workers.py). The clients are the write benchmark's (16 keep-alive "
        "connections for single deals; batches of 1,000 on as many connections as are in "
        f"flight, {BATCH_LANES} by default, then one after another); SO_REUSEPORT gives each "
        "connection to a worker by its address's hash, so one batch connection reaches one "
        "worker. The projections catch up after each measurement.",
    ]
    update_section(path, "write_workers", "\n".join(lines))
