"""Fresh planner statistics for read models that grow faster than autovacuum looks at them.

PostgreSQL plans each statement from what it last learned of its tables (`ANALYZE`).
Autovacuum analyzes a table after a tenth of it changed, at most once a minute; that keeps
statistics true in the steady state, but a young log, a catch-up from zero or a rebuild grows
a projection's tables from nothing to hundreds of thousands of rows within that minute, and
the statements of the pages and the flag settler were planned for tables of a few rows: on the
write benchmark's log a settle's arrivals scanned `rm_indicator_flag_members` once a deal
(2.7 s of a 3.9 s settle) and the projector's share of the server grew round after round.

So whoever writes a model analyzes its tables when its position first reaches ANALYZE_FIRST
and each time it doubles after: a number of passes that grows with the logarithm of the log,
each bounded by ANALYZE's own sample (300 rows for each unit of the statistics target a
column has, whatever the table's size).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import psycopg
from psycopg.sql import SQL, Identifier

log = logging.getLogger("projections.statistics")

ANALYZE_FIRST = 1_000  # events: the first position at which a model's tables are analyzed
STATISTICS_TARGET = 10  # a sample of 3,000 rows a table: sizes and rough distributions, what
# the plans of growing tables lacked, at a tenth of the default's cost (autovacuum's later
# passes keep the full statistics target)


class Growth:
    """When a model's tables are due for statistics: at ANALYZE_FIRST, then at each doubling
    of its position since the last time."""

    def __init__(self, position: int = 0) -> None:
        # A model that starts part way already has the statistics autovacuum kept.
        self.analyzed_at = position

    def due(self, position: int) -> bool:
        return position >= max(ANALYZE_FIRST, 2 * self.analyzed_at)

    def analyzed(self, position: int) -> None:
        self.analyzed_at = position


def analyze(conn: psycopg.Connection, name: str, tables: Iterable[str], position: int) -> None:
    """ANALYZE `tables` in a transaction of their own (it takes no lock that writers or readers
    wait for); the statements planned after it see the tables as they are now."""
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(f"SET LOCAL default_statistics_target = {STATISTICS_TARGET}")
        conn.execute(SQL("ANALYZE {}").format(SQL(", ").join(map(Identifier, tables))))
    log.info("analyzed the tables of %s at position %s (%.2f s)", name, position,
             time.perf_counter() - started)
