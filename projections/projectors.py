"""The projections' runner, started and stopped together (by `serve` or `project`)."""

from __future__ import annotations

from ledger.storage.store import LedgerStore
from projections import all_projections
from projections.runner import BATCH_SIZE, Metrics, ProjectionRunner, register_metrics


class Projectors:
    def __init__(self, database_url: str, store: LedgerStore, metrics: Metrics,
                 batch_size: int = BATCH_SIZE, only: set[str] | None = None) -> None:
        # One runner for all: each page of the log is read and decoded once for every
        # projection (each still commits its own position).
        chosen = [p for p in all_projections() if only is None or p.name in only]
        self.runners = [ProjectionRunner(database_url, store, chosen, metrics,
                                         batch_size=batch_size)]
        register_metrics(metrics, database_url, store.head)

    def start(self) -> Projectors:
        for runner in self.runners:
            runner.start()
        return self

    def stop(self) -> None:
        for runner in self.runners:
            runner.stop()
