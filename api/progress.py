"""A progress line on stderr for long commands (rebuild, import, demo, benchmarks)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """`[label] [#####.....] 45% 450,000/1,000,000 events 12,345/s`, redrawn at most 5x a second."""

    def __init__(self, label: str, unit: str = "events", out: TextIO = sys.stderr) -> None:
        self.label, self.unit, self.out = label, unit, out
        self.started = time.monotonic()
        self._drawn = 0.0
        self._done = 0
        self._total = 0

    def update(self, done: int, total: int) -> None:
        self._done, self._total = done, max(total, done)
        now = time.monotonic()
        if now - self._drawn >= 0.2:
            self._drawn = now
            self._draw(end="\r")

    def finish(self) -> None:
        self._draw(end="\n")

    def _draw(self, end: str) -> None:
        fraction = self._done / self._total if self._total else 1.0
        filled = int(fraction * WIDTH)
        rate = self._done / max(time.monotonic() - self.started, 1e-9)
        self.out.write(f"[{self.label}] [{'#' * filled}{'.' * (WIDTH - filled)}] "
                       f"{fraction:4.0%} {self._done:,}/{self._total:,} {self.unit} "
                       f"{rate:,.0f}/s{end}")
        self.out.flush()
