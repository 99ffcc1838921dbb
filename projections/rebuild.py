"""Rebuild a projection from the whole log into fresh tables, then swap them in at once.

Readers keep getting the old tables' answers while the new ones fill; the swap (renames inside
one transaction, under the projection's position row lock) is atomic, so there is no moment of
empty or half-built answers. A running projector notices the new `generation` at its next batch
and drops its caches (nothing is folded from the log).

An event the projection cannot apply ends the rebuild with `RebuildFailed`, naming the event's
position and the error; the live tables stay as they were and the shadow tables are dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.storage.store import LedgerStore
from projections.positions import read_standing, save_position
from projections.runner import BATCH_SIZE, Projection
from projections.statistics import Growth, analyze
from projections.stops import Batch, describe, first_failing, is_transient

SHADOW = "_rebuild"
RETIRED = "_retired"

Progress = Callable[[int, int], None]  # (position reached, log head)


class RebuildFailed(RuntimeError):
    """The projection cannot apply the event at `position`; nothing was swapped in."""

    def __init__(self, name: str, position: int, error: BaseException) -> None:
        super().__init__(f"rebuild of {name} failed: it cannot apply the event at position "
                         f"{position} ({describe(error)}); the live tables are unchanged")
        self.name, self.position = name, position


def rebuild(database_url: str, store: LedgerStore, projection: Projection,
            progress: Progress | None = None) -> int:
    """Rebuild `projection`; returns the position its new tables reached."""
    with psycopg.connect(database_url) as conn:
        try:
            return _rebuild(conn, store, projection, progress)
        except BaseException:
            try:
                conn.rollback()
                _drop_shadows(conn, projection)
            except psycopg.Error:
                pass  # the connection is gone; the next rebuild drops them first
            raise


def _drop_shadows(conn: psycopg.Connection, projection: Projection) -> None:
    for table in projection.tables:
        conn.execute(SQL("DROP TABLE IF EXISTS {}").format(Identifier(table + SHADOW)))
    conn.commit()


def _rebuild(conn: psycopg.Connection, store: LedgerStore, projection: Projection,
             progress: Progress | None) -> int:
    for table in projection.tables:
        conn.execute(SQL("DROP TABLE IF EXISTS {}").format(Identifier(table + SHADOW)))
        conn.execute(SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
            Identifier(table + SHADOW), Identifier(table)))
    conn.commit()
    projection.reset()
    head = store.head()
    growth = Growth()  # the shadow tables start empty
    position = _fill(conn, store, projection, 0, head, progress, growth)
    with conn.transaction():
        standing = read_standing(conn, projection.name, lock=True)  # the live runner waits
        position = _fill(conn, store, projection, position, store.head(), progress, growth)
        for table in projection.tables:
            conn.execute(SQL("ALTER TABLE {} RENAME TO {}").format(
                Identifier(table), Identifier(table + RETIRED)))
            conn.execute(SQL("ALTER TABLE {} RENAME TO {}").format(
                Identifier(table + SHADOW), Identifier(table)))
            conn.execute(SQL("DROP TABLE {}").format(Identifier(table + RETIRED)))
        save_position(conn, projection.name, position, standing.generation + 1)
    return position


def _fill(conn: psycopg.Connection, store: LedgerStore, projection: Projection, after: int,
          head: int, progress: Progress | None, growth: Growth) -> int:
    while True:
        page = store.read(after, BATCH_SIZE)
        if not page:
            return after
        try:
            _write(conn, projection, page)
        except Exception as error:
            if is_transient(error):
                raise
            _blame(conn, store, projection, after, page, error)
        after = page[-1][0]
        if growth.due(after):  # the statements of the next pages, planned for these tables
            analyze(conn, projection.name, (t + SHADOW for t in projection.tables), after)
            growth.analyzed(after)
        if progress:
            progress(after, max(head, after))


def _write(conn: psycopg.Connection, projection: Projection, page: Batch) -> None:
    with conn.transaction(), conn.cursor() as cur:
        projection.write(cur, page, SHADOW)


def _blame(conn: psycopg.Connection, store: LedgerStore, projection: Projection, after: int,
           page: Batch, error: BaseException) -> None:
    """Find the event of `page` that cannot be applied and raise `RebuildFailed` naming it
    (the caches are dropped, then the page goes in one event at a time)."""
    failed: tuple[int, BaseException] | None = (page[0][0], error)
    if len(page) > 1:
        projection.reset()
        failed = first_failing(page, lambda one: _write(conn, projection, one))
    if failed is not None:
        raise RebuildFailed(projection.name, *failed) from failed[1]
