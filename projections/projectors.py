"""Every projection's runner, started and stopped together (by `serve` or `project`)."""

from __future__ import annotations

from ledger.metrics import Metrics
from ledger.store import LedgerStore
from projections import all_projections
from projections.runner import ProjectionRunner, register_metrics


class Projectors:
    def __init__(self, database_url: str, store: LedgerStore, metrics: Metrics) -> None:
        self.runners = [ProjectionRunner(database_url, store, projection, metrics)
                        for projection in all_projections()]
        register_metrics(metrics, database_url, store.head)

    def start(self) -> Projectors:
        for runner in self.runners:
            runner.start()
        return self

    def stop(self) -> None:
        for runner in self.runners:
            runner.stop()
