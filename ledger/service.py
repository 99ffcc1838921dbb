"""The write side assembled: the event store, its migrations, the register and the writer.

`api` and the command line build one `LedgerService` and call it; nothing else opens the
store for writing.
"""

from __future__ import annotations

import logging

from ledger.engine.register import CACHE_EVENTS
from ledger.engine.writer import Writer
from ledger.metrics import Metrics
from ledger.storage.migrations import migrate
from ledger.storage.store import LedgerStore, open_store

log = logging.getLogger("ledger.service")


class LedgerService:
    def __init__(self, database_url: str, metrics: Metrics | None = None,
                 cache_events: int = CACHE_EVENTS) -> None:
        self.database_url = database_url
        self.metrics = metrics or Metrics()
        self.store: LedgerStore = open_store(database_url)
        applied = migrate(database_url)
        if applied:
            log.info("migrations applied: %s", ", ".join(applied))
        self.writer = Writer(self.store, self.metrics, cache_events)

    def start(self) -> LedgerService:
        self.writer.start()
        return self

    def stop(self) -> None:
        self.writer.stop()
        self.store.close()
