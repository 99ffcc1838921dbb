"""The event store: eventsourcing's PostgreSQL application recorder, configured once here.

Kept on the library's default locked write path: each save takes `LOCK TABLE ... EXCLUSIVE`,
so notification ids commit in order and a follower never skips an event. Never set
POSTGRES_ENABLE_DB_FUNCTIONS (it skips that lock; architecture.md s2).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlparse

import orjson
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import JSONTranscoder, Recording, StoredEvent, Transcoding
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ledger import events as ev
from ledger.values import Money

EVENTS_TABLE = "ledger_events"
LOCK_TIMEOUT_SECONDS = 5
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


class StaleRegister(RuntimeError):
    """The log gained events the writer had not folded in: nothing was stored; catch up, retry."""


class ArrayInsertRecorder(PostgresApplicationRecorder):
    """The library's locked insert, fed by plain arrays, and guarded by the log's head.

    Same transaction, same `LOCK TABLE ... EXCLUSIVE` and NOTIFY (inherited), same RETURNING
    of notification ids in input order. Two changes: psycopg dumps plain arrays several times
    faster than arrays of composites; and, given `expected_position`, the insert happens only
    if the log's last position is still the one the writer judged against, checked under the
    table lock. So a writer whose register is stale (another process wrote) stores nothing and
    hears `StaleRegister`: optimistic concurrency over the whole log, with no extra round trip.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table = SQL("{schema}.{table}").format(schema=Identifier(self.datastore.schema),
                                                 table=Identifier(self.events_table_name))
        columns = ("INSERT INTO {table} (originator_id, originator_version, topic, state) "
                   "SELECT * FROM unnest(%b::uuid[], %b::int[], %b::text[], %b::bytea[]) ")
        self.insert_events_statement = SQL(columns + "RETURNING notification_id").format(
            table=table)
        self.insert_if_head_statement = SQL(
            columns + "WHERE (SELECT coalesce(max(notification_id), 0) FROM {table}) = %b "
            "RETURNING notification_id").format(table=table)

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent],
        expected_position: int | None = None, **_: Any,
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        arrays: tuple[Any, ...] = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        if expected_position is None:
            curs.execute(self.insert_events_statement, arrays)
        else:
            curs.execute(self.insert_if_head_statement, (*arrays, expected_position))

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if stored_events and not ids:
            raise StaleRegister(
                f"the log moved past position {kwargs.get('expected_position')}"
            )
        return ids


class LedgerStore(Application[Any]):
    """One application for patents, parties and deals: one deal is one save, all or nothing."""

    name = "ledger"

    def construct_transcoder(self) -> OrjsonTranscoder:
        transcoder = OrjsonTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[Any]]:
        """Store ready-made events in one transaction (the writer has no aggregates to collect).

        `expected_position=N` stores them only if the log still ends at N (`StaleRegister`).
        """
        processing_event: ProcessingEvent[Any] = ProcessingEvent()
        processing_event.events.extend(objs)
        processing_event.saved_kwargs.update(kwargs)
        return self._record(processing_event)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(MoneyAsDict())

    def read(self, after: int, limit: int) -> list[tuple[int, ev.LedgerEvent]]:
        """Events after position `after`, in log order (positions may have gaps)."""
        notifications = self.recorder.select_notifications(start=after + 1, limit=limit)
        return [(n.id, self.mapper.to_domain_event(n)) for n in notifications]  # type: ignore[misc]

    def read_all(self, after: int = 0) -> Iterator[tuple[int, ev.LedgerEvent]]:
        while True:
            page = self.read(after, READ_PAGE)
            yield from page
            if len(page) < READ_PAGE:
                return
            after = page[-1][0]

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
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "5",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "CREATE_TABLE": "y",
        "APPLICATION_RECORDER_TOPIC": "ledger.store:ArrayInsertRecorder",
    }


def open_store(database_url: str, pool_size: int = 5) -> LedgerStore:
    return LedgerStore(env=store_environment(database_url, pool_size))
