"""The event store: eventsourcing's PostgreSQL application recorder, configured once here.

Kept on the library's default locked write path: each save takes `LOCK TABLE ... EXCLUSIVE`,
so notification ids commit in order and a follower never skips an event; the writer judges
under that same lock (`append_judged`), so several writer processes share one log safely. Never set
POSTGRES_ENABLE_DB_FUNCTIONS (it skips that lock; architecture.md s2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ledger.integrity.chain import GENESIS
from ledger.law import events as ev
from ledger.storage import stored_events
from ledger.storage.group_append import INSERT_EVENTS, ChunkedAppend, Row, insert_parameters
from ledger.storage.migrations import schema_lock
from ledger.storage.partitions import ISSUED, GroupRoom, PartitionRoom

log = logging.getLogger("ledger.storage.store")

EVENTS_TABLE = "ledger_events"
EVENTS_CHANNEL = EVENTS_TABLE  # eventsourcing NOTIFYs on a channel named after the table
CHAIN_TABLE = "ledger_chain"  # each event's SHA-256 link to the one before (ledger/integrity/chain.py)
LOCK_TIMEOUT_SECONDS = 5
# The writer judges a group inside its transaction (under the table lock); the library's
# default of 5 s idle-in-transaction would cut it off during a long garbage collection.
IDLE_IN_TRANSACTION_SECONDS = 60
READ_PAGE = 5_000  # notifications per query when folding the log
MAX_POSITION = (1 << 63) - 1  # bigint: "to the end of the log"
MAX_NOTED = 10_000  # events whose replaced text was logged once (the set starts over beyond)


class ArrayInsertRecorder(PostgresApplicationRecorder):
    """The library's locked insert, fed by joined columns, with a catch-up read under the lock.

    Same `LOCK TABLE ... EXCLUSIVE` and NOTIFY as the library, same RETURNING of notification
    ids in input order; the rows travel as array literals and one bytea that PostgreSQL cuts
    apart (`group_append.insert_parameters`), not as arrays psycopg dumps element by element
    in Python. `append_judged` reads what other processes stored since the caller's position
    while it holds the lock, so the caller judges against the whole log and no other writer
    can move it before the insert: pessimistic, and so free of the livelock that optimistic
    retries suffered with eight writer processes on two cores.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table = SQL("{schema}.{table}").format(schema=Identifier(self.datastore.schema),
                                                 table=Identifier(self.events_table_name))
        self.insert_events_statement = SQL(INSERT_EVENTS).format(table=table)
        # Always a page (LIMIT): an open-ended range let the planner trust stale statistics
        # on a fast-growing table and start two parallel workers to find nothing, about
        # 10 ms on every group commit, under the table lock.
        self.select_range_statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {table} WHERE notification_id > %b AND notification_id <= %b "
            "ORDER BY notification_id LIMIT %b").format(table=table)
        chain = SQL("{schema}.{table}").format(schema=Identifier(self.datastore.schema),
                                                 table=Identifier(CHAIN_TABLE))
        self.partitions = PartitionRoom()  # how far the event table's partitions reach
        self.state_statement = SQL(  # the chain's last link, the state tables' position, and
            # the last position drawn (ledger/storage/partitions.py)
            "SELECT link.position AS last, link.hash, state.position AS indexed, "
            "(SELECT last_value FROM ledger_events_notification_id_seq) AS issued, "
            "to_regclass('ledger_event_partitioning') IS NOT NULL AS partitioned "
            "FROM ledger_state_position AS state LEFT JOIN LATERAL "
            "(SELECT position, hash FROM {chain} ORDER BY position DESC LIMIT 1) AS link "
            "ON true").format(chain=chain)
        self.insert_links_statement = SQL(  # the hashes end to end, 32 bytes each
            "INSERT INTO {chain} (position, hash) "
            "SELECT position, substring(%b::bytea FROM 32 * (n - 1)::int + 1 FOR 32) "
            "FROM unnest(%t::bigint[]) WITH ORDINALITY AS link(position, n)").format(chain=chain)

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any,
    ) -> None:
        self._lock_table(curs)
        issued = curs.execute(ISSUED).fetchone()
        assert issued is not None
        if issued["partitioned"]:
            self.partitions.make_room(curs, issued["last_value"] + len(stored_events))
        self._notify_channel(curs)
        curs.execute(self.insert_events_statement, insert_parameters(stored_events))

    def append_judged(
        self, after: int, decode: Callable[[Row], ev.LedgerEvent],
        judge: Callable[[list[tuple[int, ev.LedgerEvent]], ChunkedAppend], None],
        expected: int | None = None,
    ) -> list[tuple[int, ev.LedgerEvent]]:
        """Lock, hand `judge` what was stored after `after` and a `ChunkedAppend` to add the
        events that stand to; commit. Each event added, with its position, in order. Events
        stored without being filed in the writer's state tables (before migration 014, or by
        hand) are filed in the same transaction.

        Not retried here: `judge` changes the caller's state, so the caller decides.
        """
        with self.datastore.get_connection() as conn, conn.transaction(), \
                conn.cursor() as curs:
            self._lock_table(curs)
            row = curs.execute(self.state_statement).fetchone()
            assert row is not None, "migration 014 inserts the state position"
            last, previous = row["last"] or 0, bytes(row["hash"] or GENESIS)
            indexed = row["indexed"]
            rows = self.rows_between(curs, min(after, indexed), MAX_POSITION)
            known_head = rows[-1][0] if rows else after
            backlog = self.rows_between(curs, last, known_head) if last < known_head else []
            stored = [(r[0], decode(r)) for r in rows]
            missed = [s for s in stored if s[0] > after]
            unindexed = [s for s in stored if s[0] > indexed]
            with conn.pipeline():
                room = GroupRoom(self.partitions, row["issued"]) if row["partitioned"] else None
                append = ChunkedAppend(self, conn, previous, backlog, expected, unindexed, room)
                judge(missed, append)
                return append.finish()

    def rows_between(self, curs: Cursor[DictRow], after: int, upto: int) -> list[Row]:
        """Every stored row after `after` up to `upto`, in log order, read in pages."""
        rows: list[Row] = []
        while True:
            curs.execute(self.select_range_statement, (after, upto, READ_PAGE))
            page = [(r["notification_id"], r["originator_id"], r["originator_version"],
                     r["topic"], bytes(r["state"])) for r in curs.fetchall()]
            rows.extend(page)
            if len(page) < READ_PAGE:
                return rows
            after = page[-1][0]



class LedgerStore(Application[Any]):
    """One application for patents, parties and deals: one deal is one save, all or nothing."""

    name = "ledger"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._noted: set[Any] = set()  # events whose replaced text was logged

    def construct_transcoder(self) -> JSONTranscoder:
        return stored_events.transcoder()

    def append_judged(
        self, after: int,
        judge: Callable[[list[tuple[int, ev.LedgerEvent]], ChunkedAppend], None],
        expected: int | None = None,
    ) -> list[tuple[int, ev.LedgerEvent]]:
        """Under the table lock: show `judge` the events stored after `after` and a
        `ChunkedAppend`; store the events it adds there, in one transaction, and return each
        with its position, in order. Nothing can land in between. Added events are sent to
        PostgreSQL while `judge` goes on (ledger/storage/group_append.py)."""
        def decode(row: Row) -> ev.LedgerEvent:
            return self.decode(row[1], row[2], row[3], row[4], row[0])

        recorder = self.recorder
        assert isinstance(recorder, ArrayInsertRecorder)
        return recorder.append_judged(after, decode, judge, expected)

    def _to_event(self, notification: StoredEvent, position: int | None) -> ev.LedgerEvent:
        """The event of a stored row, as every reader (projections, writer, API) sees it.

        Text that PostgreSQL or UTF-8 cannot hold (NUL, lone surrogates; older logs may carry
        it) is read with U+FFFD in its place, so no projection stops on it and no answer fails
        to encode; the row itself, and so its hash, is never changed (INV-16).
        """
        readable = stored_events.readable_state(notification.state)
        if readable is not None:
            self._note_replaced(notification, position)
            notification = StoredEvent(originator_id=notification.originator_id,
                                       originator_version=notification.originator_version,
                                       topic=notification.topic, state=readable)
        event = self.mapper.to_domain_event(notification)
        assert isinstance(event, ev.LedgerEvent)
        return event

    def _note_replaced(self, notification: StoredEvent, position: int | None) -> None:
        """One WARNING per event and process: where the replaced text is, for an operator."""
        noted = self._noted
        key = position if position is not None else (notification.originator_id,
                                                     notification.originator_version)
        if key in noted:
            return
        if len(noted) >= MAX_NOTED:
            noted.clear()
        noted.add(key)
        where = (f"position {position}" if position is not None else
                 f"{notification.originator_id} v{notification.originator_version}")
        log.warning("event at %s (%s) holds text that PostgreSQL or UTF-8 cannot carry "
                    "(NUL or a lone surrogate): read with U+FFFD in its place; the stored "
                    "event and its hash are unchanged", where, notification.topic)

    def read(self, after: int, limit: int, until: int | None = None,
             topics: Sequence[str] = ()) -> list[tuple[int, ev.LedgerEvent]]:
        """Events after position `after` (and at most `until`), in log order; ids may skip.
        With `topics`, only events of those topics (filtered in SQL, so a page stays full)."""
        notifications = self.recorder.select_notifications(start=after + 1, limit=limit,
                                                           stop=until, topics=list(topics))
        return [(n.id, self._to_event(n, n.id)) for n in notifications]

    def read_decodable(self, after: int, limit: int
                       ) -> tuple[list[tuple[int, ev.LedgerEvent]], tuple[int, Exception] | None]:
        """As `read`, but an event that cannot be decoded (a kind this code does not know, a
        state that does not parse) ends the page instead of failing it: the events before it,
        and its position with the error. Faults of the connection raise, as in `read`."""
        notifications = self.recorder.select_notifications(start=after + 1, limit=limit)
        page: list[tuple[int, ev.LedgerEvent]] = []
        for notification in notifications:
            try:  # decoding reads no connection: any error here is the event's own
                page.append((notification.id, self._to_event(notification, notification.id)))
            except Exception as error:
                return page, (notification.id, error)
        return page, None

    def read_all(self, after: int = 0, until: int | None = None
                 ) -> Iterator[tuple[int, ev.LedgerEvent]]:
        while True:
            page = self.read(after, READ_PAGE, until)
            yield from page
            if len(page) < READ_PAGE:
                return
            after = page[-1][0]

    def decode(self, originator_id: UUID, originator_version: int, topic: str,
               state: bytes, position: int | None = None) -> ev.LedgerEvent:
        """An event from a stored row that other code read (the read side's own queries)."""
        return self._to_event(StoredEvent(originator_id=originator_id,
                                          originator_version=originator_version,
                                          topic=topic, state=bytes(state)), position)

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0


def store_environment(database_url: str, pool_size: int = 5) -> dict[str, str]:
    """eventsourcing's settings for a libpq URL; never POSTGRES_ENABLE_DB_FUNCTIONS."""
    url = urlparse(database_url)
    if url.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {database_url!r}")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_LOCK_TIMEOUT": str(LOCK_TIMEOUT_SECONDS),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(IDLE_IN_TRANSACTION_SECONDS),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "5",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "CREATE_TABLE": "y",
        "APPLICATION_RECORDER_TOPIC": "ledger.storage.store:ArrayInsertRecorder",
    }


def open_store(database_url: str, pool_size: int = 5) -> LedgerStore:
    """The store; eventsourcing creates its table and function under the schema lock, as two
    processes starting together must not run those statements at once (ledger/storage/migrations.py)."""
    with schema_lock(database_url):
        return LedgerStore(env=store_environment(database_url, pool_size))
