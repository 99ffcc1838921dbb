"""The projections' runner, started and stopped together (by `serve` or `project`)."""

from __future__ import annotations

import gc

from ledger.storage.store import LedgerStore
from projections import all_projections
from projections.indicator_flags import FlagAdjustments
from projections.positions import Metrics, register_metrics
from projections.runner import BATCH_SIZE, ProjectionRunner

YOUNG_COLLECTION = 20_000  # allocations between the collector's young passes (CPython: 700)


def spare_the_collector() -> None:
    """For a process that projects (`patent-ledger project`), once it has started. Folding a
    page allocates several objects per event (decoded events, facts, rows for COPY), so the
    cyclic collector's young pass ran every few events and its full pass, which walks every
    object the process holds, every few hundred. What exists after start (modules, the rule
    configuration) lives as long as the process: frozen, the full passes skip it; young
    passes run every YOUNG_COLLECTION allocations. The caches are bounded (README limits), so
    nothing grows for want of a collection. The writer does the same (ledger/engine/writer.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION, 20, 100)


class Projectors:
    def __init__(self, database_url: str, store: LedgerStore, metrics: Metrics,
                 batch_size: int = BATCH_SIZE, only: set[str] | None = None) -> None:
        # One runner for all: each page of the log is read and decoded once for every
        # projection (each still commits its own position).
        chosen = [p for p in all_projections() if only is None or p.name in only]
        # The flagged deals' adjustments read three projections' tables: settled after each
        # page (projections/indicator_flags.py), by whichever process runs the indicators.
        settlers = [FlagAdjustments()] if any(p.name == "indicators" for p in chosen) else []
        self.runners = [ProjectionRunner(database_url, store, chosen, metrics,
                                         batch_size=batch_size, settlers=settlers)]
        register_metrics(metrics, database_url, store.head)

    def start(self) -> Projectors:
        for runner in self.runners:
            runner.start()
        return self

    def stop(self) -> None:
        for runner in self.runners:
            runner.stop()
