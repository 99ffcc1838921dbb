"""When a projection cannot apply an event: a passing fault, or a stop that says so.

A lost connection or a restarting database passes: the runner restarts from its committed
position, as it always has. Any other error from a projection's write would fail the same way
on every try, so retrying forever would leave the read side stuck at that event while every
health check says ok. Instead the runner finds the one event to blame, commits everything
before it, stops that projection alone and records the stop in `projection_positions`, where
/healthz, /metrics and GraphQL `ledger` read it from any process (docs/reliability.md, "A
degraded projection").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from ledger.law import events as ev

Batch = list[tuple[int, ev.LedgerEvent]]

MAX_ERROR_CHARS = 2_000  # of an error's text kept in the database and shown to operators
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # what PostgreSQL text or UTF-8 refuses


class Restart(RuntimeError):
    """The projection's tables changed under the runner (a rebuild swapped them in)."""


# Faults that pass: the connection or the server, not the event. `ConnectionError` and
# `TimeoutError` are the standard library's (sockets, a projection's own client).
TRANSIENT: tuple[type[BaseException], ...] = (
    psycopg.OperationalError, psycopg.InterfaceError, ConnectionError, TimeoutError, Restart,
)


def is_transient(error: BaseException) -> bool:
    """True for a fault worth a restart with backoff; False for one the event causes."""
    return isinstance(error, TRANSIENT)


def describe(error: BaseException) -> str:
    """The error as one storable line of bounded length: its class and message."""
    text = _UNSTORABLE.sub("\ufffd", f"{type(error).__name__}: {error}".strip())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 1] + "\u2026"


@dataclass(frozen=True, slots=True)
class Stop:
    """Where and why a projection stopped: `position` is the event it could not apply."""

    position: int
    error: str
    generation: int  # of its tables; a rebuild makes new ones, and the runner follows again


def first_failing(page: Batch, write_one: Callable[[Batch], None]
                  ) -> tuple[int, BaseException] | None:
    """Apply `page` one event per call (each committed by `write_one`) until one fails: that
    event's position and its error, or None if all went through. Passing faults propagate."""
    for item in page:
        try:
            write_one([item])
        except Exception as error:
            if is_transient(error):
                raise
            return item[0], error
    return None


def record_stop(conn: psycopg.Connection, name: str, failed_position: int, error: str) -> None:
    """Mark `name` stopped at `failed_position` (its position stays the last applied event)."""
    conn.execute(
        "UPDATE projection_positions SET error = %s, failed_position = %s, updated_at = now()"
        " WHERE name = %s", (error, failed_position, name))
