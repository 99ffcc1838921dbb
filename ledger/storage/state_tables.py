"""The writer's state tables (migrations/014_writer_state.sql) as the register reads them.

Each table indexes the event log, so what the writer needs of a patent or a posting is one
indexed join away, and a process holds only the cache it chooses (ledger/engine/register.py). The
tables are filed by the writer in the transaction that appends the events
(`group_append.send_index`); `catch_up` files a log written before they existed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from uuid import UUID

from ledger.law import events as ev
from ledger.storage import snapshots
from ledger.storage.group_append import send_index, text_array
from ledger.storage.snapshots import Snapshot
from ledger.storage.store import READ_PAGE, LedgerStore

log = logging.getLogger("ledger.storage.state_tables")

MAX_LOAD = 20_000  # keys and patents in one load (a group names at most a few thousand)

# Rows of three kinds: an answer to a key (0), a patent's event (1), a patent's snapshot (2),
# whose events up to its position are left out. With no snapshot wanted, `snapshots` is empty.
_LOAD = """
    WITH snapshot AS (
        SELECT number, position, version, state FROM ledger_patent_snapshots
        WHERE number = ANY({snapshots}) AND form = %s)
    SELECT p.key AS name, 0 AS kind, e.notification_id, e.originator_id,
           e.originator_version, e.topic, e.state
    FROM ledger_postings AS p JOIN ledger_events AS e ON e.notification_id = p.position
    WHERE p.key = ANY({keys})
    UNION ALL
    SELECT t.number, 1, e.notification_id, e.originator_id, e.originator_version,
           e.topic, e.state
    FROM ledger_patent_events AS t JOIN ledger_events AS e ON e.notification_id = t.position
         LEFT JOIN snapshot AS s ON s.number = t.number
    WHERE t.number = ANY({numbers}) AND t.position > coalesce(s.position, 0)
    UNION ALL
    SELECT number, 2, position, NULL, version, NULL, state FROM snapshot
    ORDER BY 3"""

_STREAM_VERSION = """
    SELECT coalesce(max(originator_version), 0) FROM ledger_events WHERE originator_id = %s"""

_CATCH_UP_PAGE = """
    SELECT notification_id, originator_id, originator_version, topic, state
    FROM ledger_events WHERE notification_id > %s ORDER BY notification_id LIMIT %s"""


class StateTables:
    """Reads of the writer's state tables, on the event store's connection pool."""

    def __init__(self, store: LedgerStore) -> None:
        self._store = store
        self._datastore = store.recorder.datastore  # type: ignore[attr-defined]

    def load(self, keys: Collection[str], numbers: Collection[str], whole: bool = False
             ) -> tuple[dict[str, tuple[int, ev.LedgerEvent]],
                        dict[str, list[tuple[int, ev.LedgerEvent]]], dict[str, Snapshot]]:
        """In one round trip: the event answering each key, and each patent's snapshot (unless
        `whole`) with the events filed after it, or else all its events."""
        if len(keys) + len(numbers) > MAX_LOAD:
            raise ValueError(f"{len(keys) + len(numbers)} keys and patents in one load; "
                             f"at most {MAX_LOAD}")
        answers: dict[str, tuple[int, ev.LedgerEvent]] = {}
        timelines: dict[str, list[tuple[int, ev.LedgerEvent]]] = {}
        found: dict[str, Snapshot] = {}
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            read_keys, key_values = text_array(list(keys))
            read_numbers, number_values = text_array(list(numbers))
            read_snapshots, snapshot_values = text_array([] if whole else list(numbers))
            curs.execute(_LOAD.format(keys=read_keys, numbers=read_numbers,
                                      snapshots=read_snapshots).encode(),
                         (snapshot_values, snapshots.FORM, key_values, number_values))
            for row in curs.fetchall():
                position = row["notification_id"]
                if row["kind"] == 2:
                    found[row["name"]] = snapshots.load(
                        row["name"], position, row["originator_version"], row["state"])
                    continue
                event = self._store.decode(row["originator_id"], row["originator_version"],
                                           row["topic"], row["state"], position)
                if row["kind"] == 0:
                    answers[row["name"]] = (position, event)
                else:
                    timelines.setdefault(row["name"], []).append((position, event))
        return answers, timelines, found

    def stream_version(self, stream: UUID) -> int:
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            row = curs.execute(_STREAM_VERSION, (stream,)).fetchone()
        return int(row["coalesce"]) if row else 0

    def position(self) -> int:
        """The last position the tables hold."""
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            row = curs.execute("SELECT position FROM ledger_state_position").fetchone()
        return int(row["position"]) if row else 0

    def catch_up(self) -> int:
        """File every event the tables do not hold yet, a page per transaction under the
        event table's lock (as a writer's group), logging progress; the position reached.
        Nothing to do on a log written since migration 014: a start then reads no event."""
        started, filed = time.monotonic(), 0
        head = self._store.head()
        while True:
            with self._datastore.get_connection() as conn, conn.transaction(), \
                    conn.cursor() as curs:
                self._store.recorder._lock_table(curs)  # type: ignore[attr-defined]
                row = curs.execute(
                    "SELECT position FROM ledger_state_position FOR UPDATE").fetchone()
                indexed = int(row["position"]) if row else 0
                curs.execute(_CATCH_UP_PAGE, (indexed, READ_PAGE))
                page = [(r["notification_id"], self._store.decode(
                    r["originator_id"], r["originator_version"], r["topic"], r["state"],
                    r["notification_id"])) for r in curs.fetchall()]
                send_index(curs, page)
            filed += len(page)
            if len(page) < READ_PAGE:
                if filed:
                    log.info("writer state tables filed %d events up to position %d in "
                             "%.1f s", filed, page[-1][0] if page else indexed,
                             time.monotonic() - started)
                return page[-1][0] if page else indexed
            log.info("filing the log in the writer's state tables: position %d of %d",
                     page[-1][0], head)
