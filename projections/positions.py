"""Where each projection stands: its committed position, generation and any stop, in
`projection_positions`, as the runner writes them, a rebuild swaps them and readers and the
metrics read them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import psycopg


class Metrics(Protocol):
    """What the runner reports to: the service's registry (`ledger/metrics.py`), which the
    projections receive rather than import, so the read side depends on the log alone."""

    def counter(self, name: str, help_: str) -> None: ...

    def histogram(self, name: str, help_: str, buckets: tuple[float, ...]) -> None: ...

    def gauge_set(self, name: str, help_: str,
                  read: Callable[[], Mapping[tuple[tuple[str, str], ...], float]]) -> None: ...

    def inc(self, name: str, amount: float = 1, **labels: str) -> None: ...

    def observe(self, name: str, value: float, **labels: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Standing:
    name: str
    position: int
    generation: int
    error: str | None = None  # why it stopped; None while it follows the log
    failed_position: int | None = None  # the event it could not apply


_STANDING = "SELECT name, position, generation, error, failed_position FROM projection_positions"


def read_standing(conn: psycopg.Connection, name: str, *, lock: bool = False) -> Standing:
    query = _STANDING + " WHERE name = %s"
    row = conn.execute(query + (" FOR UPDATE" if lock else ""), (name,)).fetchone()
    if row is None:
        raise RuntimeError(f"projection {name!r} is not in projection_positions")
    return Standing(*row)


def save_position(conn: psycopg.Connection, name: str, position: int,
                  generation: int | None = None) -> None:
    """Commit-time bookkeeping: a projection that commits follows the log, so a recorded stop
    clears (after a fix is deployed and the process restarted, or after a rebuild)."""
    conn.execute(
        "UPDATE projection_positions SET position = %s, updated_at = now(),"
        " generation = coalesce(%s, generation), error = NULL, failed_position = NULL"
        " WHERE name = %s",
        (position, generation, name))


def standings(database_url: str) -> list[Standing]:
    """Every projection's committed position and any stop, as readers see them (active runner
    or not)."""
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        rows = conn.execute(_STANDING + " ORDER BY name").fetchall()
    return [Standing(*row) for row in rows]


def register_metrics(metrics: Metrics, database_url: str, head: Callable[[], int]) -> None:
    """Each projection's position and lag, read from the database at every scrape."""
    Series = dict[tuple[tuple[str, str], ...], float]

    def positions() -> Series:
        return {(("projection", s.name),): float(s.position) for s in standings(database_url)}

    def lag() -> Series:
        last = head()
        return {(("projection", s.name),): float(max(last - s.position, 0))
                for s in standings(database_url)}

    def stopped() -> Series:
        return {(("projection", s.name),): float(s.error is not None)
                for s in standings(database_url)}

    metrics.gauge_set("projection_position", "Last log position each projection committed",
                      positions)
    metrics.gauge_set("projection_stopped", "1 while a projection is stopped by an event it "
                      "could not apply (see /healthz)", stopped)
    metrics.gauge_set("projection_lag_events", "Events stored but not yet projected", lag)
