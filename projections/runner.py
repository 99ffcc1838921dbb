"""Follows the event log and keeps one projection's tables up to date, exactly once.

Each batch of read-model changes commits in the same transaction as the projection's position,
so a crash at any moment leaves tables and position agreeing: the batch is either all there or
not at all, and the next start resumes after the last committed one. Notification ids commit
in order (the event table is locked for writes), so reading `position > last` in id order never
skips an event, even with many writers; ids may have gaps and nothing assumes otherwise.

The runner catches up in batches of up to BATCH_SIZE events (under a stream of writes a short
page is followed no sooner than PAGE_SECONDS after it, so pages gather events; each projection
analyzes its tables as its position doubles, projections/statistics.py), then waits on
LISTEN/NOTIFY with polling every POLL_SECONDS as a fallback (a dropped LISTEN connection is
only a slower poll until the restart). A passing fault (a lost connection, a restarting
database) ends the current connections; the supervisor logs it, waits (1 s doubling up to 30
s) and starts again from the committed position. An event a projection cannot apply stops that
projection alone, loudly, at the last event it could (projections/stops.py); the others follow
on. A stopped projection is tried again when its process starts, or follows the tables a
rebuild swaps in. One runner per projection is active across processes: a session advisory
lock elects it; others stand by. Settlers (projections/indicator_flags.py) do work over
several projections' committed tables after their pages: on a connection of their own beside
the pages, which do not wait for them, at most every SETTLE_SECONDS and for at most
SETTLE_SHARE of the time, and at once when the log is idle.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.storage.store import EVENTS_CHANNEL, LedgerStore
from projections.positions import Metrics, read_standing, save_position
from projections.statistics import Growth, analyze
from projections.stops import (
    Batch,
    Restart,
    Stop,
    describe,
    first_failing,
    is_transient,
    record_stop,
)

log = logging.getLogger("projections.runner")

BATCH_SIZE = 10_000  # events per transaction while catching up (also ledger/settings.py):
# fewer statements an event, and a patent touched again and again is judged and written once a
# page; catch-up about a tenth faster than with 5,000 for about 60 MiB more (BENCHMARKS.md)
POLL_SECONDS = 1.0  # a fallback when no NOTIFY arrives
RESTART_MIN_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0
STANDBY_SECONDS = 2.0  # how often a stand-by runner asks for the lock again
APPLICATION_NAME = "ledger-projector"  # in pg_stat_activity, for operators (and tests)
PAGE_SECONDS = 0.1  # under a steady stream of writes, a short page is read no sooner than
# this after the one before began: each page costs every projection a transaction and a few
# statements whatever its size, so pages of tens of events cost far less an event than pages
# of a few (a lone event after a quiet spell is read at once)
SETTLE_SECONDS = 2.0  # while pages keep coming, settlers run beside them at most this often
# (and always when the log is idle): each settle's fixed cost is paid once for many pages
SETTLE_SHARE = 0.2  # and they take at most this share of the time beside pages: after a settle
# of d seconds the pages go on alone for d * (1 / SETTLE_SHARE - 1) (a settle on a flag-dense
# log judges again every member its new deals name, so fewer settles do less work)



class Settler(Protocol):
    """Work over several projections' committed tables (projections/indicator_flags.py),
    run after each page they commit and when the log is idle: idempotent, one transaction."""

    name: str
    tables: tuple[str, ...]  # its own, analyzed as its position grows (projections/statistics.py)

    def settle(self, conn: psycopg.Connection) -> int:
        """Catch up with what the projections committed; the position it has reached."""

    def record_failure(self, conn: psycopg.Connection, error: BaseException) -> None:
        """Say where operators look that a settle cannot run (the projections go on)."""


class Projection(Protocol):
    """A read model: its tables, and how a batch of events changes them."""

    name: str
    tables: tuple[str, ...]

    def reset(self) -> None:
        """Forget any cached state: the tables hold all of it (after a restart, a failed
        batch or a rebuild). Nothing is read from the log here, or at start."""

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        """Apply a batch to the tables named `table + suffix`, inside the caller's transaction."""


@dataclass(slots=True)
class _Follower:
    """One projection inside a runner: where its tables stand."""

    projection: Projection
    conn: psycopg.Connection | None = None  # its own, so its transactions overlap the others'
    position: int = 0
    generation: int = 0
    stop: Stop | None = None  # it could not apply an event; kept across runner restarts
    growth: Growth = field(default_factory=Growth)  # when its tables want fresh statistics


class ProjectionRunner:
    """Follows the log for one or more projections, reading and decoding each page once.

    Every projection keeps its own position and commits its own transaction per batch, so a
    slow or rebuilt projection never holds another back in the tables; sharing the read halves
    the decoding work, which dominated catch-up with two projections on two cores.

    Each projection writes a page on its own thread and connection, and the next page is read
    meanwhile: the Python folds still take turns (one interpreter lock), but while one
    projection waits for PostgreSQL (the indicator rollup's statement, a commit's fsync)
    another folds, so the server's work runs on the second core instead of after the folds.
    """

    def __init__(self, database_url: str, store: LedgerStore,
                 projections: Projection | Sequence[Projection], metrics: Metrics, *,
                 batch_size: int = BATCH_SIZE, settlers: Sequence[Settler] = ()) -> None:
        chosen = [projections] if not isinstance(projections, Sequence) else list(projections)
        self._followers = [_Follower(p) for p in chosen]
        self._settlers = list(settlers)
        self._settled = dict.fromkeys((s.name for s in self._settlers), 0)
        self._settler_growth: dict[str, Growth] = {}  # from each one's first settle here
        self._failing: set[str] = set()
        self._next_settle = 0.0  # monotonic time before which pages go on alone
        self._url = database_url
        self._store = store
        self._metrics = metrics
        self._batch_size = batch_size
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.active = False  # holds the lock and follows the log
        metrics.counter("projection_events_total", "Events projected, by projection")
        metrics.counter("projection_restarts_total", "Projection runner restarts after an error")
        metrics.counter("projection_stops_total", "Projections stopped by an event they could "
                        "not apply")
        metrics.histogram("projection_batch_seconds", "Time to write and commit one batch",
                          (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

    @property
    def name(self) -> str:
        return "+".join(f.projection.name for f in self._followers)

    @property
    def position(self) -> int:
        """The lowest position among its following projections: all have projected up to
        here (a stopped one stays behind, and says so in `stops`)."""
        return min(f.position for f in self._following() or self._followers)

    @property
    def positions(self) -> dict[str, int]:
        return {f.projection.name: f.position for f in self._followers}

    @property
    def projected(self) -> int:
        """Up to where its projections and settlers have all committed (what a reader that
        waits for the read side waits for). While a projection is stopped the settlers, which
        read it, stay behind with it: only the following projections count."""
        return min([self.position, *(() if self.stops else self._settled.values())])

    @property
    def stops(self) -> dict[str, Stop]:
        """The projections this runner stopped, and why."""
        return {f.projection.name: f.stop for f in self._followers if f.stop is not None}

    def _following(self) -> list[_Follower]:
        return [f for f in self._followers if f.stop is None]

    def start(self) -> ProjectionRunner:
        self._thread = threading.Thread(target=self.run, name=f"projection-{self.name}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run(self) -> None:
        """Follow the log until stopped, restarting after any error."""
        pause = RESTART_MIN_SECONDS
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self._follow()
            except Exception as error:  # passing faults only: a bad event stops its projection
                self.active = False
                for follower in self._followers:
                    self._metrics.inc("projection_restarts_total",
                                      projection=follower.projection.name)
                log.warning("projection %s stopped (%s: %s); restarting in %.0f s",
                            self.name, type(error).__name__, error, pause)
                if time.monotonic() - started > RESTART_MAX_SECONDS:
                    pause = RESTART_MIN_SECONDS  # it ran a good while: a fresh fault
                self._stopping.wait(pause)
                pause = min(pause * 2, RESTART_MAX_SECONDS)

    def _follow(self) -> None:
        with ExitStack() as stack:
            def connect(autocommit: bool = False) -> psycopg.Connection:
                return stack.enter_context(psycopg.connect(
                    self._url, autocommit=autocommit, application_name=APPLICATION_NAME))

            listener = connect(autocommit=True)
            self._elect(listener)
            listener.execute(SQL("LISTEN {}").format(Identifier(EVENTS_CHANNEL)))
            for follower in self._followers:
                follower.conn = conn = connect()
                standing = read_standing(conn, follower.projection.name)
                follower.position, follower.generation = standing.position, standing.generation
                follower.growth = Growth(standing.position)
                conn.commit()
                if follower.stop is not None and follower.stop.generation != standing.generation:
                    follower.stop = None  # a rebuild swapped in new tables: follow them
            for follower in self._followers:
                follower.projection.reset()  # its caches may hold a rolled-back batch
            settling = connect(autocommit=False) if self._settlers else None
            pool = stack.enter_context(ThreadPoolExecutor(
                len(self._followers) + 2, thread_name_prefix=f"projection-{self.name}"))
            self.active = True
            log.info("projection %s follows the log from %s", self.name, self.positions)
            self._settle_with(settling)
            in_flight: Future[None] | None = None  # a settle beside the pages, not waited for
            page, undecodable = self._store.read_decodable(self.position, self._batch_size)
            read_at = checked = time.monotonic()  # when the page in hand was read
            while not self._stopping.is_set():
                if self.stops and time.monotonic() - checked > STANDBY_SECONDS:
                    self._check_rebuilt()
                    checked = time.monotonic()
                if not self._following():  # every one stopped: only a rebuild moves them
                    self._stopping.wait(POLL_SECONDS)
                    continue
                if not page and undecodable is not None:
                    for follower in self._following():  # none of them can read past it
                        self._halt(follower, *undecodable, unreadable=True)
                    continue
                if not page:
                    if in_flight is not None:
                        in_flight.result()  # a passing fault in it restarts the runner
                        in_flight = None
                    self._settle_with(settling)  # the last page's, before waiting
                    self._wait(listener)
                    page, undecodable = self._store.read_decodable(self.position,
                                                                   self._batch_size)
                    read_at = time.monotonic()
                    continue
                writes = [pool.submit(self._commit, follower, behind)
                          for follower in self._following()
                          if (behind := [item for item in page if item[0] > follower.position])]
                not_before = read_at + PAGE_SECONDS if len(page) < self._batch_size else 0.0
                upcoming = (pool.submit(self._read, page[-1][0], not_before)
                            if undecodable is None else None)
                # The settlers catch up with the pages committed before this one, on their own
                # connection; the pages do not wait for them (a settle on a flag-dense log
                # can take longer than several pages).
                if settling and (in_flight is None or in_flight.done()) \
                        and time.monotonic() >= self._next_settle:
                    if in_flight is not None:
                        in_flight.result()
                    in_flight = pool.submit(self._settle_with, settling)
                _settle([*writes, *([upcoming] if upcoming else [])])
                read_at, page, undecodable = (upcoming.result() if upcoming
                                              else (read_at, [], undecodable))

    def _read(self, after: int, not_before: float
              ) -> tuple[float, Batch, tuple[int, Exception] | None]:
        """When it read (monotonic), and the next page, read no sooner than `not_before`
        unless stopping."""
        self._stopping.wait(max(0.0, not_before - time.monotonic()))
        read_at = time.monotonic()
        return (read_at, *self._store.read_decodable(after, self._batch_size))

    def _settle_with(self, conn: psycopg.Connection | None) -> None:
        """Run each settler once. One that fails on what it reads records why (logged once
        until it succeeds again) and is tried again at the next page or wake-up; a passing
        fault restarts the runner like any other."""
        if conn is None:
            return
        started = time.monotonic()
        try:
            for settler in self._settlers:
                try:
                    self._settled[settler.name] = settled = settler.settle(conn)
                    self._failing.discard(settler.name)
                    growth = self._settler_growth.setdefault(settler.name, Growth(settled))
                    if growth.due(settled):
                        analyze(conn, settler.name, settler.tables, settled)
                        growth.analyzed(settled)
                except Exception as error:
                    if is_transient(error):
                        raise
                    conn.rollback()
                    if settler.name not in self._failing:
                        log.error("settler %s failed; tried again at the next page",
                                  settler.name, exc_info=error)
                        self._failing.add(settler.name)
                    settler.record_failure(conn, error)
        finally:  # the pause runs from a settle's end: a slow settle is not run back to back
            ended = time.monotonic()
            self._next_settle = ended + max(SETTLE_SECONDS,
                                            (ended - started) * (1 / SETTLE_SHARE - 1))

    def _elect(self, listener: psycopg.Connection) -> None:
        key = zlib.crc32(f"projection:{self.name}".encode())
        while not self._stopping.is_set():
            row = listener.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row and row[0]:
                return
            self._stopping.wait(STANDBY_SECONDS)
        raise Restart("stopping")

    def _commit(self, follower: _Follower, page: Batch) -> None:
        """Write and commit `page`; if an event in it cannot be applied, commit the events
        before it one by one and stop this projection there (the others go on)."""
        try:
            self._write(follower, page)
        except Exception as error:
            if is_transient(error):
                raise
            failed: tuple[int, BaseException] | None = (page[0][0], error)
        else:  # committed: a fault from here on restarts the runner, it blames no event
            if follower.growth.due(follower.position):
                assert follower.conn is not None
                analyze(follower.conn, follower.projection.name, follower.projection.tables,
                        follower.position)
                follower.growth.analyzed(follower.position)
            return
        if len(page) > 1:
            # The caches may hold the page's events up to the failure: drop them (the tables
            # are as last committed), then one event per transaction to find the one to blame.
            follower.projection.reset()
            failed = first_failing(page, lambda one: self._write(follower, one))
        if failed is not None:
            self._halt(follower, *failed)

    def _halt(self, follower: _Follower, failed_position: int, error: BaseException, *,
              unreadable: bool = False) -> None:
        """Stop `follower` before the event at `failed_position`: one it cannot apply (the
        other projections go on), or one this code cannot read at all (every one stops)."""
        name, conn = follower.projection.name, follower.conn
        assert conn is not None, "a follower writes only once it is connected"
        cannot = "be read by this version of the ledger" if unreadable else "be applied"
        reason = f"the event at position {failed_position} cannot {cannot}: {describe(error)}"
        with conn.transaction():
            standing = read_standing(conn, name, lock=True)
            if standing.generation != follower.generation:
                raise Restart(f"tables of {name} were replaced (rebuild); following them afresh")
            record_stop(conn, name, failed_position, reason)
        follower.stop = Stop(failed_position, reason, follower.generation)
        self._metrics.inc("projection_stops_total", projection=name)
        log.error("projection %s STOPPED at position %s: %s. It is tried again when its "
                  "process restarts (deploy a fix first), or run `patent-ledger rebuild %s`",
                  name, follower.position, reason, name,
                  exc_info=error)

    def _check_rebuilt(self) -> None:
        """A stopped projection whose tables a rebuild replaced follows again (by a restart
        of the runner, which drops every projection's caches and resumes from its committed position)."""
        for follower in self._followers:
            if follower.stop is None or follower.conn is None:
                continue
            standing = read_standing(follower.conn, follower.projection.name)
            follower.conn.commit()
            if standing.generation != follower.stop.generation:
                raise Restart(f"tables of {follower.projection.name} were rebuilt; "
                              "following the log again")

    def _write(self, follower: _Follower, page: Batch) -> None:
        started = time.perf_counter()
        name = follower.projection.name
        conn = follower.conn
        assert conn is not None, "a follower writes only once it is connected"
        with conn.transaction():
            standing = read_standing(conn, name, lock=True)
            if standing.generation != follower.generation or \
                    standing.position != follower.position:
                raise Restart(f"tables of {name} were replaced (rebuild); following them afresh")
            with conn.cursor() as cur:
                follower.projection.write(cur, page)
            save_position(conn, name, page[-1][0])
        follower.position = page[-1][0]
        self._metrics.inc("projection_events_total", len(page), projection=name)
        self._metrics.observe("projection_batch_seconds", time.perf_counter() - started,
                              projection=name)

    def _wait(self, listener: psycopg.Connection) -> None:
        for _ in listener.notifies(timeout=POLL_SECONDS, stop_after=1):
            pass


def _settle(futures: Sequence[Future[Any]]) -> None:
    """Wait for every one (none is left mid-transaction), then raise the first error."""
    errors = [error for future in futures if (error := future.exception()) is not None]
    if errors:
        raise errors[0]
