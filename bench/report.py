"""BENCHMARKS.md holds one section per benchmark; each run replaces only its own section."""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HEADER = """# Benchmarks

Each section below is written by the command it names, on a shared 2-core machine where
the API, PostgreSQL and the load generator run side by side. Figures are medians (or
percentiles) of one run, each beside a baseline measured in the same run on the same server.
These machines drift from run to run: compare the ratios more than the absolute figures.
"""


def machine_line(postgres_version: str) -> str:
    return (f"Machine: {os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}, PostgreSQL {postgres_version} (embedded, fsync on), "
            f"run {time.strftime('%Y-%m-%d')}.")


def update_section(path: Path, key: str, markdown: str) -> None:
    """Replace the block between `<!-- bench:key -->` markers (added if missing)."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    text = path.read_text() if path.exists() else HEADER
    if not text.startswith("# Benchmarks"):
        text = HEADER
    block = f"{start}\n{markdown.rstrip()}\n{end}"
    if start in text and end in text:
        before, _, rest = text.partition(start)
        _, _, after = rest.partition(end)
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def bench_main(doc: str | None, arguments: Callable[[argparse.ArgumentParser], None],
               run: Callable[[argparse.Namespace], Any],
               report: Callable[[Any, argparse.Namespace, Path], None]) -> None:
    """A benchmark's command line: its own options plus `--out`, run, write its section."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    arguments(parser)
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args()
    report(run(args), args, args.out)
    print(f"[bench {time.strftime('%H:%M:%S')}] figures written to {args.out}", flush=True)
