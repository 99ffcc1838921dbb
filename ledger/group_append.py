"""A group's events sent to PostgreSQL chunk by chunk while the writer judges the rest.

Inserting a thousand events and their links keeps PostgreSQL busy for tens of milliseconds,
and the writer used to wait for it idle. Now every CHUNK events the writer has settled are
sent at once in pipeline mode (psycopg sends the insert and returns without waiting), so
PostgreSQL inserts them on the second core while the writer judges the next ones. A chunk's
positions are read back, and its links to the hash chain sent, once the next chunk is on its
way. Everything stays in the writer's one transaction, under its table lock, on one
connection and one thread: positions and links come out exactly as one insert would make
them, and the group still commits or fails as a whole.

(A helper thread doing the inserts was measured first: handing the interpreter lock back and
forth with the judging thread cost more CPU than the overlap saved.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.persistence import StoredEvent
from psycopg import Connection, Cursor
from psycopg.rows import DictRow
from psycopg.sql import Composed

from ledger.chain import links

CHUNK = 200  # events per insert: small enough to overlap, large enough to stay cheap

Row = tuple[int, Any, int, str, bytes]  # position, originator id, version, topic, state


class Recorder(Protocol):
    """What a chunked append needs of the event store's recorder."""

    insert_events_statement: Composed
    insert_links_statement: Composed

    def _notify_channel(self, curs: Cursor[DictRow]) -> None: ...


class ChunkedAppend:
    """Events `add`ed are inserted in order, CHUNK at a time, on `conn` in pipeline mode.

    `previous` is the chain's last link and `backlog` the stored rows not linked yet (events
    from before the chain existed), linked ahead of the first chunk. `finish` sends the rest
    and returns every position; a failure surfaces there or when the pipeline closes, and the
    caller's transaction then rolls back: nothing of the group is stored.
    """

    def __init__(self, recorder: Recorder, conn: Connection[DictRow], previous: bytes,
                 backlog: list[Row]) -> None:
        self._recorder = recorder
        self._conn = conn
        self._previous = previous
        self._unlinked: list[Row] = backlog
        self._buffer: list[StoredEvent] = []
        self._in_flight: list[tuple[Cursor[DictRow], list[StoredEvent]]] = []
        self._positions: list[int] = []

    def add(self, stored: Sequence[StoredEvent]) -> None:
        self._buffer.extend(stored)
        if len(self._buffer) >= CHUNK:
            self._send()

    def finish(self) -> list[int]:
        """Send the rest, then read every chunk's positions and send their links; the
        positions given to every event added, in order."""
        self._send()
        rows = self._unlinked
        for curs, chunk in self._in_flight:  # all but the last are inserted by now
            positions = [row["notification_id"] for row in curs.fetchall()]
            rows.extend((p, e.originator_id, e.originator_version, e.topic, e.state)
                        for p, e in zip(positions, chunk, strict=True))
            self._positions.extend(positions)
        if rows:
            linked, hashes = [], []
            for position, digest in links(self._previous, rows):
                linked.append(position)
                hashes.append(digest)
            self._conn.cursor().execute(self._recorder.insert_links_statement, (linked, hashes))
        return self._positions

    def _send(self) -> None:
        if not self._buffer:
            return
        chunk, self._buffer = self._buffer, []
        curs = self._conn.cursor()
        if not self._in_flight:  # delivered at commit, and only if the group commits
            self._recorder._notify_channel(curs)
        curs.execute(self._recorder.insert_events_statement, (
            [e.originator_id for e in chunk], [e.originator_version for e in chunk],
            [e.topic for e in chunk], [e.state for e in chunk]))
        self._in_flight.append((curs, chunk))
