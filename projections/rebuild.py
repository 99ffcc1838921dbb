"""Rebuild a projection from the whole log into fresh tables, then swap them in at once.

Readers keep getting the old tables' answers while the new ones fill; the swap (renames inside
one transaction, under the projection's position row lock) is atomic, so there is no moment of
empty or half-built answers. A running projector notices the new `generation` at its next batch
and warms up again from the log.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.store import LedgerStore
from projections.runner import BATCH_SIZE, Projection, read_standing, save_position

SHADOW = "_rebuild"
RETIRED = "_retired"

Progress = Callable[[int, int], None]  # (position reached, log head)


def rebuild(database_url: str, store: LedgerStore, projection: Projection,
            progress: Progress | None = None) -> int:
    """Rebuild `projection`; returns the position its new tables reached."""
    with psycopg.connect(database_url) as conn:
        for table in projection.tables:
            conn.execute(SQL("DROP TABLE IF EXISTS {}").format(Identifier(table + SHADOW)))
            conn.execute(SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                Identifier(table + SHADOW), Identifier(table)))
        conn.commit()
        projection.reset()
        head = store.head()
        position = _fill(conn, store, projection, 0, head, progress)
        with conn.transaction():
            standing = read_standing(conn, projection.name, lock=True)  # the live runner waits
            position = _fill(conn, store, projection, position, store.head(), progress)
            for table in projection.tables:
                conn.execute(SQL("ALTER TABLE {} RENAME TO {}").format(
                    Identifier(table), Identifier(table + RETIRED)))
                conn.execute(SQL("ALTER TABLE {} RENAME TO {}").format(
                    Identifier(table + SHADOW), Identifier(table)))
                conn.execute(SQL("DROP TABLE {}").format(Identifier(table + RETIRED)))
            save_position(conn, projection.name, position, standing.generation + 1)
    return position


def _fill(conn: psycopg.Connection, store: LedgerStore, projection: Projection, after: int,
          head: int, progress: Progress | None) -> int:
    while True:
        page = store.read(after, BATCH_SIZE)
        if not page:
            return after
        with conn.transaction(), conn.cursor() as cur:
            projection.write(cur, page, SHADOW)
        after = page[-1][0]
        if progress:
            progress(after, max(head, after))
