"""The projections' runner, started and stopped together (by `serve` or `project`)."""

from __future__ import annotations

import gc
from collections.abc import Iterable

from ledger.storage.store import LedgerStore
from projections import all_projections
from projections.indicator_flags import FlagAdjustments
from projections.positions import Metrics, register_metrics
from projections.runner import BATCH_SIZE, Projection, ProjectionRunner

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


ANOMALY_RULES = "anomalies"  # the largest share of the read side's Python


def process_groups() -> list[tuple[str, ...]]:
    """How `serve` spreads the projections over its projector processes (api/
    projector_process.py): the anomaly rules in one, every other projection in the other.

    One interpreter folds on one core at a time. On the write benchmark's market the anomaly
    rules took about two fifths of the read side's Python and the rest three fifths, so two
    processes split it about evenly over two cores (catch-up about a tenth faster measured;
    BENCHMARKS.md), while each page is still read and decoded only twice. The settler goes
    with the indicators; it reads the anomalies' committed tables whichever process wrote
    them."""
    names = [p.name for p in all_projections()]
    return [(ANOMALY_RULES,), tuple(name for name in names if name != ANOMALY_RULES)]


def chosen(only: Iterable[str] | None) -> list[Projection]:
    """The projections named in `only` (all of them for None), in their running order."""
    everything = all_projections()
    if only is None:
        return everything
    wanted = set(only)
    known = ", ".join(p.name for p in everything)
    if not wanted:
        raise ValueError(f"name at least one projection (known: {known})")
    unknown = sorted(wanted - {p.name for p in everything})
    if unknown:
        raise ValueError(f"no projection {', '.join(map(repr, unknown))} (known: {known})")
    return [p for p in everything if p.name in wanted]


class Projectors:
    def __init__(self, database_url: str, store: LedgerStore, metrics: Metrics,
                 batch_size: int = BATCH_SIZE, only: Iterable[str] | None = None) -> None:
        # One runner for all it runs: each page of the log is read and decoded once for every
        # projection (each still commits its own position).
        projections = chosen(only)
        # The flagged deals' adjustments read three projections' tables: settled after each
        # page (projections/indicator_flags.py), by whichever process runs the indicators.
        settlers = ([FlagAdjustments()] if any(p.name == "indicators" for p in projections)
                    else [])
        self.runners = [ProjectionRunner(database_url, store, projections, metrics,
                                         batch_size=batch_size, settlers=settlers)]
        register_metrics(metrics, database_url, store.head)

    def start(self) -> Projectors:
        for runner in self.runners:
            runner.start()
        return self

    def stop(self) -> None:
        for runner in self.runners:
            runner.stop()
