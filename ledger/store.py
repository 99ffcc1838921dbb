"""The event store: eventsourcing's PostgreSQL application recorder, configured once here.

Kept on the library's default locked write path: each save takes `LOCK TABLE ... EXCLUSIVE`,
so notification ids commit in order and a follower never skips an event; the writer judges
under that same lock (`append_judged`), so several writer processes share one log safely. Never set
POSTGRES_ENABLE_DB_FUNCTIONS (it skips that lock; architecture.md s2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import (
    JSONTranscoder,
    Notification,
    Recording,
    StoredEvent,
    Transcoding,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ledger import events as ev
from ledger.chain import GENESIS, links
from ledger.values import Money

EVENTS_TABLE = "ledger_events"
EVENTS_CHANNEL = EVENTS_TABLE  # eventsourcing NOTIFYs on a channel named after the table
CHAIN_TABLE = "ledger_chain"  # each event's SHA-256 link to the one before (ledger/chain.py)
LOCK_TIMEOUT_SECONDS = 5
# The writer judges a group inside its transaction (under the table lock); the library's
# default of 5 s idle-in-transaction would cut it off during a long garbage collection.
IDLE_IN_TRANSACTION_SECONDS = 60
READ_PAGE = 5_000  # notifications per query when folding the log


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class MoneyAsDict(Transcoding):
    type = Money
    name = "money"

    def encode(self, obj: Money) -> dict[str, str]:
        return {"amount": str(obj.amount), "currency": obj.currency}

    def decode(self, data: dict[str, str]) -> Money:
        return Money(Decimal(data["amount"]), data["currency"])


class OrjsonTranscoder(JSONTranscoder):
    """The library's stored JSON format, written by orjson (about five times faster).

    Dates, datetimes and dataclasses (Money) are passed through to the registered
    transcodings, so stored state stays byte-compatible with `JSONTranscoder`, which still
    decodes it.
    """

    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=self._encode_obj, option=self._OPTIONS)


class ArrayInsertRecorder(PostgresApplicationRecorder):
    """The library's locked insert, fed by plain arrays, with a catch-up read under the lock.

    Same `LOCK TABLE ... EXCLUSIVE` and NOTIFY as the library, same RETURNING of notification
    ids in input order; psycopg dumps plain arrays several times faster than arrays of
    composites. `append_judged` reads what other processes stored since the caller's position
    while it holds the lock, so the caller judges against the whole log and no other writer
    can move it before the insert: pessimistic, and so free of the livelock that optimistic
    retries suffered with eight writer processes on two cores.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table = SQL("{schema}.{table}").format(schema=Identifier(self.datastore.schema),
                                                 table=Identifier(self.events_table_name))
        self.insert_events_statement = SQL(
            "INSERT INTO {table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::int[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id").format(table=table)
        self.select_after_statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {table} WHERE notification_id > %b ORDER BY notification_id").format(table=table)
        self.select_range_statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {table} WHERE notification_id > %b AND notification_id <= %b "
            "ORDER BY notification_id").format(table=table)
        chain = SQL("{schema}.{table}").format(schema=Identifier(self.datastore.schema),
                                                 table=Identifier(CHAIN_TABLE))
        self.last_link_statement = SQL(
            "SELECT position, hash FROM {chain} ORDER BY position DESC LIMIT 1").format(
            chain=chain)
        self.insert_links_statement = SQL(
            "INSERT INTO {chain} (position, hash) "
            "SELECT * FROM unnest(%b::bigint[], %b::bytea[])").format(chain=chain)

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any,
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(self.insert_events_statement, _as_arrays(stored_events))

    def append_judged(
        self, after: int, judge: Callable[[list[Notification]], Sequence[StoredEvent]]
    ) -> list[Notification]:
        """Lock, hand `judge` what was stored after `after`, insert what it returns; commit.

        Not retried here: `judge` changes the caller's state, so the caller decides.
        """
        with self.datastore.get_connection() as conn, conn.transaction(), \
                conn.cursor() as curs:
            self._lock_table(curs)
            curs.execute(self.select_after_statement, (after,))
            missed = [Notification(id=row["notification_id"], originator_id=row["originator_id"],
                                   originator_version=row["originator_version"],
                                   topic=row["topic"], state=bytes(row["state"]))
                      for row in curs.fetchall()]
            stored = judge(missed)
            if not stored:
                return []
            self._notify_channel(curs)
            curs.execute(self.insert_events_statement, _as_arrays(stored))
            ids = [row["notification_id"] for row in curs.fetchall()]
            known_head = max([after, *(n.id for n in missed)])
            self._link(curs, known_head, [(i, e.originator_id, e.originator_version, e.topic,
                                           e.state) for i, e in zip(ids, stored, strict=True)])
        return [Notification(id=i, originator_id=e.originator_id,
                             originator_version=e.originator_version, topic=e.topic,
                             state=e.state) for i, e in zip(ids, stored, strict=True)]


    def _link(self, curs: Cursor[DictRow], known_head: int,
              new: list[tuple[int, Any, int, str, bytes]]) -> None:
        """Link the events just inserted to the chain, in the same transaction (under the
        lock). Events stored before the chain existed, up to `known_head`, are linked first."""
        row = curs.execute(self.last_link_statement).fetchone()
        last, previous = (row["position"], bytes(row["hash"])) if row else (0, GENESIS)
        backlog = _unlinked(self, curs, last, known_head) if last < known_head else []
        positions, hashes = [], []
        for position, digest in links(previous, [*backlog, *new]):
            positions.append(position)
            hashes.append(digest)
        curs.execute(self.insert_links_statement, (positions, hashes))

def _unlinked(recorder: ArrayInsertRecorder, curs: Cursor[DictRow], after: int, upto: int
              ) -> list[tuple[int, Any, int, str, bytes]]:
    curs.execute(recorder.select_range_statement, (after, upto))
    return [(r["notification_id"], r["originator_id"], r["originator_version"], r["topic"],
             bytes(r["state"])) for r in curs.fetchall()]


def _as_arrays(stored_events: Sequence[StoredEvent]) -> tuple[list[Any], ...]:
    return ([e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events])


class LedgerStore(Application[Any]):
    """One application for patents, parties and deals: one deal is one save, all or nothing."""

    name = "ledger"

    def construct_transcoder(self) -> OrjsonTranscoder:
        transcoder = OrjsonTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def append_judged(
        self, after: int,
        judge: Callable[[list[tuple[int, ev.LedgerEvent]]], Sequence[ev.LedgerEvent]],
    ) -> list[Recording[Any]]:
        """Under the table lock: show `judge` the events stored after `after`, then store
        the events it returns, in one transaction. Nothing can land in between."""
        def judge_stored(missed: list[Notification]) -> list[StoredEvent]:
            events = judge([(n.id, self._to_event(n)) for n in missed])
            chosen.extend(events)
            return [self.mapper.to_stored_event(e) for e in events]

        chosen: list[ev.LedgerEvent] = []
        recorder = self.recorder
        assert isinstance(recorder, ArrayInsertRecorder)
        notifications = recorder.append_judged(after, judge_stored)
        return [Recording(e, n) for e, n in zip(chosen, notifications, strict=True)]

    def _to_event(self, notification: StoredEvent) -> ev.LedgerEvent:
        event = self.mapper.to_domain_event(notification)
        assert isinstance(event, ev.LedgerEvent)
        return event

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(MoneyAsDict())

    def read(self, after: int, limit: int, until: int | None = None
             ) -> list[tuple[int, ev.LedgerEvent]]:
        """Events after position `after` (and at most `until`), in log order; ids may skip."""
        notifications = self.recorder.select_notifications(start=after + 1, limit=limit,
                                                           stop=until)
        return [(n.id, self._to_event(n)) for n in notifications]

    def read_all(self, after: int = 0, until: int | None = None
                 ) -> Iterator[tuple[int, ev.LedgerEvent]]:
        while True:
            page = self.read(after, READ_PAGE, until)
            yield from page
            if len(page) < READ_PAGE:
                return
            after = page[-1][0]

    def decode(self, originator_id: UUID, originator_version: int, topic: str,
               state: bytes) -> ev.LedgerEvent:
        """An event from a stored row that other code read (the read side's own queries)."""
        return self._to_event(StoredEvent(originator_id=originator_id,
                                          originator_version=originator_version,
                                          topic=topic, state=bytes(state)))

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
        "APPLICATION_RECORDER_TOPIC": "ledger.store:ArrayInsertRecorder",
    }


def open_store(database_url: str, pool_size: int = 5) -> LedgerStore:
    return LedgerStore(env=store_environment(database_url, pool_size))
