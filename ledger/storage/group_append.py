"""A group's events sent to PostgreSQL chunk by chunk while the writer judges the rest.

Inserting a thousand events and their links keeps PostgreSQL busy for tens of milliseconds,
and the writer used to wait for it idle. Now every CHUNK events the writer has settled are
sent at once in pipeline mode (psycopg sends the insert and returns without waiting), so
PostgreSQL inserts them on the second core while the writer judges the next ones. Once the
group is judged, every chunk's positions are read back and the group's links to the hash
chain sent. Everything stays in the writer's one transaction, under its table lock, on one
connection and one thread: positions and links come out exactly as one insert would make
them, and the group still commits or fails as a whole. A large atomic posting is sent as it
is judged behind a savepoint (`mark`, `undo`, `release`).

Measured and set aside (2026-11-26): a helper thread doing the inserts (handing the
interpreter lock back and forth with the judging thread cost more CPU than the overlap
saved), and reading each chunk's positions back before sending the next (every read waits
for a flush round trip; it gained nothing).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg import Connection, Cursor
from psycopg.rows import DictRow, scalar_row
from psycopg.sql import Composed

from ledger.integrity.chain import links
from ledger.law.events import LedgerEvent
from ledger.law.keys import patents_of, posting_key
from ledger.storage import stored_events
from ledger.storage.partitions import GroupRoom
from ledger.storage.snapshots import send_snapshots

CHUNK = 500  # events per insert: small enough to overlap, large enough to stay cheap (measured:
# 400 to 600 about 6 % more events/s than 200, whose per-insert overhead showed; 1,000 overlaps
# nothing)
TAIL_CHUNK = 64  # the smallest chunk sent before the group is judged to its end


def chunk_size(expected_left: int) -> int:
    """Events to gather before the next insert, when `expected_left` may still come.

    The last chunk is the one the writer waits for idle (it is inserted after judging ends),
    so chunks shrink towards the group's end: half of what is left, at least TAIL_CHUNK and
    at most CHUNK. For a thousand deals: 500, 250, 125, 64, then the last 61. Each chunk's
    insert (PostgreSQL needs about a quarter of the writer's time for an event) is done
    before the next, half as large, is judged. Measured (2026-11-26, in-process, alternating
    runs): 9,252 events/s against 8,485 with chunks of 500 and a last chunk of 500.
    """
    return min(CHUNK, max(TAIL_CHUNK, (expected_left + 1) // 2))

_SAVEPOINT = "SAVEPOINT atomic_posting"
_ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO SAVEPOINT atomic_posting"
_RELEASE_SAVEPOINT = "RELEASE SAVEPOINT atomic_posting"

Row = tuple[int, Any, int, str, bytes]  # position, originator id, version, topic, state


class Recorder(Protocol):
    """What a chunked append needs of the event store's recorder."""

    insert_events_statement: Composed
    insert_links_statement: Composed

    def _notify_channel(self, curs: Cursor[Any]) -> None: ...


class ChunkedAppend:
    """Events `add`ed are encoded and inserted in order, in chunks of up to CHUNK (smaller
    towards the end when the group's size is `expected`), on `conn` in pipeline mode.

    `previous` is the chain's last link and `backlog` the stored rows not linked yet (events
    from before the chain existed), linked ahead of the first chunk; `unindexed` the stored
    events the writer's state tables do not hold yet (migrations/014_writer_state.sql),
    indexed with the group's own; `room` makes the event table's partitions reach each
    chunk's positions before it is sent (ledger/storage/partitions.py). `finish` sends
    the rest and returns each event with its position; a failure surfaces there or when
    the pipeline closes, and the caller's transaction then rolls back: nothing of the group is stored.
    """

    def __init__(self, recorder: Recorder, conn: Connection[DictRow], previous: bytes,
                 backlog: list[Row], expected: int | None = None,
                 unindexed: Sequence[tuple[int, LedgerEvent]] = (),
                 room: GroupRoom | None = None) -> None:
        self._recorder = recorder
        self._room = room  # partitions made before an insert could need them (partitions.py)
        self._unindexed = list(unindexed)
        # Events the group may still add (its deals not yet judged); None: not known.
        self._expected_left = expected
        self._next_send = CHUNK if expected is None else chunk_size(expected)
        self._conn = conn
        self._previous = previous
        self._unlinked: list[Row] = backlog
        self._buffer: list[tuple[LedgerEvent, StoredEvent]] = []
        self._in_flight: list[tuple[Cursor[Any], list[tuple[LedgerEvent, StoredEvent]]]] = []
        self._marked: int | None = None  # chunks sent before the savepoint, while one is held

    def add(self, events: Sequence[LedgerEvent]) -> None:
        """Events that will stand (unless taken back by `undo`), in log order."""
        self._buffer.extend([(e, stored_events.encode(e)) for e in events])
        if len(self._buffer) >= self._next_send:
            self._send()

    def mark(self) -> None:
        """A savepoint: events added from now on can be taken back with `undo`. A large
        atomic batch is sent as it is judged, though a later deal may still refuse it."""
        self._send()  # what came before the mark stands
        self._conn.cursor().execute(_SAVEPOINT)
        self._marked = len(self._in_flight)

    def undo(self) -> None:
        """Take back every event added since `mark` (PostgreSQL rolls back to the savepoint;
        the positions it had given are skipped, as after any rollback)."""
        assert self._marked is not None, "undo without mark"
        # From here on this connection prepares nothing. psycopg discards its prepared
        # statements when it sees a ROLLBACK, and in pipeline mode it did so out of order,
        # after preparing new ones: a later group failed on a statement the server no longer
        # had ("prepared statement _pg3_n does not exist"). Connections that never roll
        # back keep their prepared statements.
        self._conn.prepare_threshold = None
        self._conn.cursor().execute(_ROLLBACK_TO_SAVEPOINT)
        self._conn.cursor().execute(_RELEASE_SAVEPOINT)
        del self._in_flight[self._marked:]
        self._buffer = []
        self._marked = None

    def release(self) -> None:
        """Keep what was added since `mark`."""
        assert self._marked is not None, "release without mark"
        self._conn.cursor().execute(_RELEASE_SAVEPOINT)
        self._marked = None

    def add_snapshots(self, rows: Sequence[tuple[str, int, int, bytes]]) -> None:
        """Patents' snapshots the writer let go of after its last group, written in this
        group's transaction (ledger/storage/snapshots.py): no commit of their own."""
        send_snapshots(self._conn.cursor(), rows)

    def finish(self) -> list[tuple[int, LedgerEvent]]:
        """Send the rest, then read every chunk's positions and send their links; each
        event added, with the position it was given, in order."""
        self._send()
        stored: list[tuple[int, LedgerEvent]] = []
        rows = self._unlinked
        for curs, chunk in self._in_flight:  # all but the last are inserted by now
            for position, (event, e) in zip(curs.fetchall(), chunk, strict=True):
                rows.append((position, e.originator_id, e.originator_version, e.topic, e.state))
                stored.append((position, event))
        if rows:
            linked, hashes = [], []
            for position, digest in links(self._previous, rows):
                linked.append(position)
                hashes.append(digest)
            # As the events: a literal and one bytea, not arrays dumped element by element.
            self._conn.cursor().execute(self._recorder.insert_links_statement, (
                b"".join(hashes), "{" + ",".join(map(str, linked)) + "}"))
        send_index(self._conn.cursor(), self._unindexed + stored)
        return stored

    def _send(self) -> None:
        if not self._buffer:
            return
        chunk, self._buffer = self._buffer, []
        if self._expected_left is not None:
            self._expected_left -= len(chunk)
            self._next_send = chunk_size(self._expected_left)
        if not self._in_flight:  # delivered at commit, and only if the group commits
            # On a cursor of its own: in pipeline mode a cursor answers with the first of its
            # statements' results to arrive, and a NOTIFY sharing the insert's cursor could
            # stand in for the positions when a large chunk's answer arrived in parts.
            self._recorder._notify_channel(self._conn.cursor())
        if self._room is not None:
            self._room.before_insert(self._conn.cursor(), len(chunk))
        curs = self._conn.cursor(row_factory=scalar_row)  # the positions, nothing else
        curs.execute(self._recorder.insert_events_statement,
                     insert_parameters([e for _, e in chunk]))
        self._in_flight.append((curs, chunk))


def insert_parameters(events: Sequence[StoredEvent]) -> tuple[bytes, str, str, str, str]:
    """The parameters of the recorder's insert (`INSERT_EVENTS`): the states end to end in
    one bytea, then three columns and the states' lengths as array literals.

    psycopg dumps an array in Python, element by element (about 5 us an event for the four
    columns); these are joined in C, and PostgreSQL parses the literals and cuts the states
    apart on its own core. Topics are event class names; one that could break the literal
    is refused rather than escaped.
    """
    topics = [e.topic for e in events]
    for topic in set(topics):
        if not _PLAIN_TOPIC.fullmatch(topic):
            raise ValueError(f"topic {topic!r} is not a plain name")
    states = [e.state for e in events]
    return (b"".join(states),
            "{" + ",".join([_hex(e.originator_id) for e in events]) + "}",
            "{" + ",".join(map(str, [e.originator_version for e in events])) + "}",
            "{" + ",".join(topics) + "}",
            "{" + ",".join(map(str, map(len, states))) + "}")


_PLAIN_TOPIC = re.compile(r"[A-Za-z0-9_.:]+")


def _hex(originator_id: UUID | str) -> str:
    """32 hex digits; an id given as text is parsed first (it goes into a literal)."""
    if isinstance(originator_id, UUID):
        return f"{originator_id.int:032x}"
    return UUID(originator_id).hex


def send_index(curs: Cursor[Any], stored: Sequence[tuple[int, LedgerEvent]]) -> None:
    """File stored events in the writer's state tables, and move their position to the last:
    each event under its idempotency key, and in the timeline of every patent it touches.

    Keys and numbers travel as one text cut by PostgreSQL at a unit separator (U+001F, which
    no accepted text holds; a value holding it goes as a dumped array instead), positions as
    an array literal: no element-by-element dumping in Python.
    """
    if not stored:
        return
    keys, key_positions, numbers, number_positions = [], [], [], []
    for position, event in stored:
        key = posting_key(event)
        if key is not None:
            keys.append(key)
            key_positions.append(position)
        for number in patents_of(event):
            numbers.append(number)
            number_positions.append(position)
    for statement, texts, positions in ((INSERT_POSTINGS, keys, key_positions),
                                        (INSERT_PATENT_EVENTS, numbers, number_positions)):
        if texts:
            read_back, value = text_array(texts)
            curs.execute(statement.format(texts=read_back).encode(),
                         (value, _bigints(positions)))
    curs.execute(MOVE_STATE_POSITION, (max(position for position, _ in stored),))


def text_array(values: list[str]) -> tuple[str, str | list[str]]:
    """The SQL that reads a text array back, and the value to send it: one text cut by
    PostgreSQL, where psycopg would dump a list element by element in Python."""
    joined = _SEPARATOR.join(values)
    if joined.count(_SEPARATOR) != len(values) - 1:
        return "%s::text[]", values
    return "string_to_array(%s::text, E'\\x1f')", joined


def _bigints(values: list[int]) -> str:
    return "{" + ",".join(map(str, values)) + "}"


_SEPARATOR = "\x1f"

INSERT_POSTINGS = """
    INSERT INTO ledger_postings (key, position)
    SELECT key, position
    FROM unnest({texts}, %s::bigint[]) AS posting(key, position)
    ON CONFLICT DO NOTHING"""

INSERT_PATENT_EVENTS = """
    INSERT INTO ledger_patent_events (number, position)
    SELECT number, position
    FROM unnest({texts}, %s::bigint[]) AS filed(number, position)
    ON CONFLICT DO NOTHING"""

MOVE_STATE_POSITION = """
    UPDATE ledger_state_position SET position = greatest(position, %s)"""

INSERT_EVENTS = """
    INSERT INTO {table} (originator_id, originator_version, topic, state)
    SELECT id, version, topic, substring(%b::bytea FROM start FOR length)
    FROM (SELECT id, version, topic, length, n,
                 (sum(length) OVER (ORDER BY n) - length + 1)::int AS start
          FROM unnest(%t::uuid[], %t::bigint[], %t::text[], %t::int[])
               WITH ORDINALITY AS event(id, version, topic, length, n)) AS cut
    ORDER BY n
    RETURNING notification_id"""
