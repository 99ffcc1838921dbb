"""Import benchmark: USPTO assignment records per second through the ledger's command path.

    python -m bench.import_path [--copies 503]

The shared daily file (199 records) is repeated into one file of at least 100,000 records;
each copy gets its own reels and its own patent numbers (a suffix on every document number),
so every copy is new to the ledger and is judged like the original. Beside it, in the same
run: the streaming parser alone over the same file, and plain batched inserts of as many rows
as the import wrote events (the server's own pace).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from api.progress import ProgressBar
from bench.report import bench_main, machine_line, update_section
from bench.write_path import BASELINE_TABLE, baseline_batch, progress
from importers.uspto import UsptoImport
from importers.uspto_xml import read_records
from ledger.service import LedgerService
from ledger.storage.embedded_postgres import EmbeddedPostgres

SOURCE = Path(__file__).resolve().parent.parent / "tests" / "data" / "ad20160101.xml"


def repeated_file(source: Path, copies: int, target: Path) -> int:
    """Write `copies` copies of the source's records into one file; returns the record count."""
    text = source.read_text()
    head, _, rest = text.partition("<patent-assignments>")
    body, _, tail = rest.rpartition("</patent-assignments>")
    with target.open("w") as out:
        out.write(head + "<patent-assignments>")
        for copy in range(copies):
            if copy == 0:
                out.write(body)
                continue
            out.write(_shifted(body, copy))
        out.write("</patent-assignments>" + tail)
    return body.count("<patent-assignment>") * copies


def _shifted(body: str, copy: int) -> str:
    """The records with reels moved by 10 per copy and a copy suffix on document numbers."""
    body = re.sub(r"<reel-no>(\d+)</reel-no>",
                  lambda m: f"<reel-no>{int(m.group(1)) + 10 * copy}</reel-no>", body)
    return re.sub(r"<doc-number>([^<]+)</doc-number>",
                  lambda m: f"<doc-number>{m.group(1)}X{copy}</doc-number>", body)


def parse_only(path: Path) -> float:
    started = time.perf_counter()
    count = sum(1 for _ in read_records(path))
    return count / (time.perf_counter() - started)


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-import-"))
    workdir.chmod(0o711)
    cluster = EmbeddedPostgres(workdir / "pg", fsync=True)
    try:
        cluster.start()
        progress(f"embedded PostgreSQL (fsync on) on port {cluster.port}")
        url = cluster.create_database("bench_import")
        baseline_url = cluster.create_database("bench_import_baseline")
        with psycopg.connect(url) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        with psycopg.connect(baseline_url, autocommit=True) as conn:
            conn.execute(BASELINE_TABLE)
        path = workdir / "repeated.xml"
        records = repeated_file(SOURCE, args.copies, path)
        progress(f"{records:,} records in {path.stat().st_size / 2**20:,.0f} MiB")
        parse_rates = [parse_only(path) for _ in range(2)]
        progress(f"parser alone: {statistics.median(parse_rates):,.0f} records/s")
        service = LedgerService(url).start()
        try:
            bar = ProgressBar("import uspto", unit="records")
            started = time.perf_counter()
            report = UsptoImport(service, bar.update).run([path])
            seconds = time.perf_counter() - started
            bar.finish()
        finally:
            service.stop()
        rate = report.records_read / seconds
        progress(f"import: {rate:,.0f} records/s, {report.events_written / seconds:,.0f} "
                 f"events/s ({report.events_written:,} events)")
        rows = max(1_000, report.events_written // 1_000 * 1_000)
        base = baseline_batch(baseline_url, rows)
        progress(f"baseline inserts: {base:,.0f} rows/s")
        return {"postgres": version, "records": report.records_read, "seconds": seconds,
                "rate": rate, "events": report.events_written, "deals": report.deals_stored,
                "skipped": len(report.skipped), "parse": statistics.median(parse_rates),
                "baseline": base}
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def write_report(result: dict[str, Any], args: argparse.Namespace, path: Path) -> None:
    events_rate = result["events"] / result["seconds"]
    lines = [
        "## USPTO import (issue 6)",
        "",
        "Produced by:",
        "",
        "```bash",
        f"bash scripts/dev.sh bench import   # = python -m bench.import_path --copies {args.copies}",
        "```",
        "",
        machine_line(result["postgres"]),
        "",
        "| workload | unit | ledger | baseline | baseline is | ratio |",
        "|---|---|---|---|---|---|",
        f"| import of {result['records']:,} USPTO records (`patent-ledger import uspto`) | "
        f"records/s | {result['rate']:,.0f} | {result['parse']:,.0f} | the streaming parser "
        f"alone over the same file | {result['rate'] / result['parse']:.2f} |",
        f"| events it wrote ({result['events']:,}: parties, patents, deals) | events/s | "
        f"{events_rate:,.0f} | {result['baseline']:,.0f} | plain inserts, 1,000-row "
        f"transactions | {events_rate / result['baseline']:.2f} |",
        "",
        f"{result['deals']:,} records became deals; {result['skipped']:,} were skipped with "
        "their reason (pending applications, expired patents, releases of security interests "
        "recorded before the file, rules of law), as in the shared file.",
        "",
        f"Method: the shared daily file `ad20160101.xml` repeated {args.copies} times into one "
        "file, each copy with its own reels and patent numbers, imported once into an empty "
        "ledger through the writer (records are sorted by legal effect first, then posted "
        "with up to 2,000 unanswered).",
    ]
    update_section(path, "import_path", "\n".join(lines))


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--copies", type=int, default=503, help="503 copies: 100,097 records")

def main() -> None:
    bench_main(__doc__, _arguments, run, write_report)


if __name__ == "__main__":
    main()
