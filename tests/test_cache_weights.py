"""The caches' bounds are stated in bytes (README limits), so each cache's estimate of what an
entry costs must stay close to what Python really allocates for it. Measured with tracemalloc
over many entries of a typical shape; if the law's state or a chronology starts to hold more,
these fail and the estimates (and the stated bounds) must be revisited.

Writer's records are counted, not weighed, but the setting's stated size (README:
`LEDGER_WRITER_CACHE`, about 0.65 KB a record) is checked the same way."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from ledger.engine.register import PatentTimeline
from projections import anomaly_tables, register_model
from projections.anomaly_facts import Change, Dated, PatentFacts
from projections.patent_view import Folding
from tests import plain_events as pe

ENTRIES = 1_000
DAY = date(2021, 1, 1)


def allocated(make: Callable[[int], Any]) -> tuple[float, Any]:
    """Bytes allocated per entry for ENTRIES entries kept alive, and one of them."""
    gc.collect()
    tracemalloc.start()
    kept = [make(i) for i in range(ENTRIES)]
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return size / ENTRIES, kept[0]


def kept_fold(i: int, pledges: int) -> Any:
    """A fold as the register projection keeps it: licences shed, pledges (one active)."""
    folding = Folding.start(pe.registered(), 1)
    for k in range(5):
        folding.step(10 + k, pe.licence(f"L{i}-{k}", DAY + timedelta(days=k), [pe.A], "B"))
    for k in range(pledges):
        day = DAY + timedelta(days=50 + 2 * k)
        folding.step(100 + 2 * k, pe.pledge(f"P{i}-{k}", day, [pe.A]))
        if k < pledges - 1:
            folding.step(101 + 2 * k, pe.release(f"R{i}-{k}", day, f"P{i}-{k}"))
    fold = register_model._Fold(folding, (DAY, 200))
    register_model._shed(fold)
    return fold


def chronology(i: int, entries: int) -> PatentFacts:
    facts = PatentFacts(f"CN{i}", "invention", date(2040, 1, 1), 1, frozenset({"a"}))
    for k in range(entries):
        day = DAY + timedelta(days=k)
        if k % 6 == 0:
            facts.changes.append(Change(day, 10 + k, f"T{i}-{k}", "transfer", frozenset({"a"}),
                                        frozenset({"b"}), pe.cny("100000"), None))
        else:
            facts.dated.append(Dated(day, 10 + k, "licence", f"L{i}-{k}",
                                     frozenset({"a", "b"}), pe.cny("50000")))
    return facts


def within(estimate: float, measured: float) -> bool:
    """An estimate may be off by a third either way: the bound is what matters, not bytes."""
    return measured * 2 / 3 <= estimate <= measured * 3 / 2


def test_a_kept_register_fold_weighs_what_it_allocates() -> None:
    for pledges in (0, 1, 4):
        measured, fold = allocated(lambda i, p=pledges: kept_fold(i, p))
        assert within(register_model.weight(fold), measured), (pledges, measured)
        assert not fold.folding.state.licences  # shed: the rows hold them


def test_an_anomaly_chronology_weighs_what_it_allocates() -> None:
    for entries in (0, 12, 60):
        measured, facts = allocated(lambda i, n=entries: chronology(i, n))
        assert within(anomaly_tables.weight(facts), measured), (entries, measured)


def test_a_writer_record_costs_about_what_the_setting_states() -> None:
    """README: a compacted patent weighs 1 + its licences and pledges, about 0.65 KB each."""
    def compacted(i: int) -> PatentTimeline:
        timeline = PatentTimeline(pe.registered(), unsaved=0)
        for k in range(10):
            event = pe.licence(f"L{i}-{k}", DAY + timedelta(days=k), [pe.A], "B")
            timeline.keys.append((event.effective_on, 10 + k))
            timeline.events.append(event)
        timeline.latest = timeline.keys[-1]
        timeline.complete = True
        timeline.compact()
        return timeline

    measured, timeline = allocated(compacted)
    assert timeline.weight == 11
    assert within(650 * timeline.weight, measured), measured
