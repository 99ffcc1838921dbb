"""The event store: eventsourcing's PostgreSQL application recorder, configured once here.

Kept on the library's default locked write path: each save takes `LOCK TABLE ... EXCLUSIVE`,
so notification ids commit in order and a follower never skips an event. Never set
POSTGRES_ENABLE_DB_FUNCTIONS (it skips that lock; architecture.md s2).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlparse

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Transcoding

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


class LedgerStore(Application[Any]):
    """One application for patents, parties and deals: one deal is one save, all or nothing."""

    name = "ledger"

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
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "CREATE_TABLE": "y",
    }


def open_store(database_url: str, pool_size: int = 5) -> LedgerStore:
    return LedgerStore(env=store_environment(database_url, pool_size))
