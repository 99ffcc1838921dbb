"""The log's head and each projection's standing, read from the database for /healthz and
/metrics.

The projections run in another process (`serve`'s child, or `patent-ledger project` on
another machine), so the API cannot ask runner objects how far they are: it reads
`projection_positions` (each projection's committed position, and its stop if any,
projections/stops.py) against the log's head, in one statement on a small pool of its own.
Before, /healthz opened a fresh connection per call and /metrics one per gauge.

Bounds: a reading is shared by the calls that come within STANDING_MAX_AGE of it, so a flood
of /healthz costs at most one statement per STANDING_MAX_AGE and the three gauges of a scrape
cost one; `lag` is therefore at most STANDING_MAX_AGE older than the answer, plus the batch a
projector has not yet committed (LEDGER_PROJECTION_BATCH events at most). The pool holds at
most POOL_SIZE connections; a reading that waits longer than POOL_WAIT_SECONDS for one, or
runs longer than STATEMENT_TIMEOUT_MS, fails, and /healthz answers 503 "unhealthy".
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from psycopg_pool import ConnectionPool

from ledger.metrics import Labels, Metrics

STANDING_MAX_AGE = 0.1  # seconds a reading is reused for
POOL_SIZE = 2  # connections for /healthz and /metrics, apart from the GraphQL read pool
POOL_WAIT_SECONDS = 5.0
STATEMENT_TIMEOUT_MS = 2_000

_READ = ("SELECT h.head, p.name, p.position, p.error, p.failed_position"
         " FROM (SELECT coalesce(max(notification_id), 0) AS head FROM ledger_events) h"
         " LEFT JOIN projection_positions p ON true ORDER BY p.name")


@dataclass(frozen=True, slots=True)
class ProjectionLag:
    name: str
    position: int  # the last event it committed
    lag: int  # events stored after it, as of the reading
    error: str | None  # why it stopped; None while it follows the log
    failed_position: int | None  # the event it could not apply

    def report(self) -> dict[str, Any]:
        return {"position": self.position, "lag": self.lag, "error": self.error,
                "failed_position": self.failed_position}


@dataclass(frozen=True, slots=True)
class Standing:
    head: int
    projections: tuple[ProjectionLag, ...]
    read_at: float  # time.monotonic() of the reading

    @property
    def degraded(self) -> bool:
        """A projection is stopped at an event it could not apply (/healthz answers 503)."""
        return any(p.error is not None for p in self.projections)


class LedgerStanding:
    """Readings of head and projections, on a pool opened at the first reading."""

    def __init__(self, database_url: str) -> None:
        self._pool = ConnectionPool(
            database_url, min_size=1, max_size=POOL_SIZE, open=False, timeout=POOL_WAIT_SECONDS,
            kwargs={"autocommit": True, "connect_timeout": 5,
                    "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"})
        self._opened = False
        self._lock = threading.Lock()
        self._last: Standing | None = None

    def read(self) -> Standing:
        """A reading at most STANDING_MAX_AGE old. Raises if the database is away."""
        with self._lock:  # callers that arrive meanwhile share this reading
            last = self._last
            if last is not None and time.monotonic() - last.read_at <= STANDING_MAX_AGE:
                return last
            if not self._opened:
                self._pool.open()
                self._opened = True
            with self._pool.connection() as conn:
                rows = conn.execute(_READ).fetchall()
            head = int(rows[0][0])
            self._last = Standing(head, tuple(
                ProjectionLag(name, position, max(head - position, 0), error, failed)
                for _, name, position, error, failed in rows if name is not None),
                time.monotonic())
            return self._last

    def close(self) -> None:
        with self._lock:
            if self._opened:
                self._pool.close()
                self._opened = False

    def register_metrics(self, metrics: Metrics) -> None:
        """Each projection's position, lag and stop, read from the database at each scrape
        (whichever process projects)."""
        def series(value: str) -> dict[Labels, float]:
            return {(("projection", p.name),): float(getattr(p, value))
                    for p in self.read().projections}

        metrics.gauge_set("projection_position", "Last log position each projection "
                          "committed", lambda: series("position"))
        metrics.gauge_set("projection_lag_events", "Events stored but not yet projected",
                          lambda: series("lag"))
        metrics.gauge_set("projection_stopped", "1 while a projection is stopped by an event it "
                          "could not apply (see /healthz)",
                          lambda: {(("projection", p.name),): float(p.error is not None)
                                   for p in self.read().projections})
