"""The caches' bounds are stated in bytes (README limits), so each cache's estimate of what an
entry costs must stay close to what Python really allocates for it. Measured with tracemalloc
over many entries of a typical shape; if the law's state or a chronology starts to hold more,
these fail and the estimates (and the stated bounds) must be revisited.

The writer's cache counts records rather than bytes, but what the setting states a record
costs (README: `LEDGER_WRITER_CACHE`, about 0.4 KB) is checked the same way."""

from __future__ import annotations

import gc
import pickle
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from ledger.engine.register import PATENT_RECORDS, PatentTimeline
from ledger.law import events as ev
from ledger.law.values import Money
from projections import anomaly_tables, register_model
from projections.anomalies import evaluate
from projections.anomaly_facts import AnomalyFacts, Change, PatentFacts
from projections.anomaly_rules import Flag
from projections.log_events import Lru
from projections.patent_view import Folding
from tests import plain_events as pe

ENTRIES = 1_000
RECORD_BYTES = 400  # what README states a record of the writer's cache costs
DAY = date(2021, 1, 1)


def allocated(make: Callable[[int], Any], entries: int = ENTRIES) -> tuple[float, Any]:
    """Bytes allocated per entry for `entries` entries kept alive, and one of them."""
    gc.collect()
    tracemalloc.start()
    kept = [make(i) for i in range(entries)]
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return size / entries, kept[0]


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


def _fetched(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row holding values of its own, as each row psycopg returns does."""
    return pickle.loads(pickle.dumps(row))


def chronology(i: int, entries: int) -> PatentFacts:
    """A patent's chronology as `AnomalyTables.patents` reads it back for this patent alone
    (the least sharing): a few deals a day, a transfer in six, licensees of a market's
    thousand parties."""
    facts = PatentFacts(f"CN{i}", "invention", date(2040, 1, 1), 1, frozenset({"a"}))
    one = anomaly_tables.Shared()
    for k in range(entries):
        day = DAY + timedelta(days=k // 3)
        if k % 6 == 0:
            facts.changes.append(anomaly_tables.change_from(_fetched(
                (facts.number, day, 10 + k, f"T{i}-{k}", "transfer", ["a"], [f"b{k % 1000}"],
                 "100000", "CNY", None)), one))
        else:
            facts.dated.append(anomaly_tables.dated_from(_fetched(
                (facts.number, day, 10 + k, "licence", f"L{i}-{k}", ["a", f"b{k % 1000}"],
                 "50000", "CNY")), one))
    return facts


def within(estimate: float, measured: float) -> bool:
    """An estimate may be off by a third either way: the bound is what matters, not bytes."""
    return measured * 2 / 3 <= estimate <= measured * 3 / 2


def test_a_kept_register_fold_weighs_what_it_allocates() -> None:
    for pledges in (0, 1, 4):
        measured, fold = allocated(partial(kept_fold, pledges=pledges))
        assert within(register_model.weight(fold), measured), (pledges, measured)
        assert not fold.folding.state.licences  # shed: the rows hold them


def test_an_anomaly_chronology_weighs_what_it_allocates() -> None:
    for entries, patents in ((0, ENTRIES), (12, ENTRIES), (60, 200), (2_000, 5)):
        measured, facts = allocated(partial(chronology, entries=entries), patents)
        assert within(anomaly_tables.weight(facts), measured), (entries, measured)


def _decoded(event: Any) -> Any:
    """A copy of `event` holding values of its own, as each event decoded from the store does."""
    return pickle.loads(pickle.dumps(event))


def writer_timeline(i: int, licences: int) -> PatentTimeline:
    """A patent the writer loaded whole and compacted after its group: a registration as the
    registry files it, then `licences` ordinary licences, each decoded on its own."""
    registered = _decoded(replace(pe.registered(), title=f"Method and device {i}",
                                  fingerprint=f"{i:064x}", number=f"CN{i}",
                                  originator_id=ev.stream_id("patent", f"CN{i}")))
    timeline = PatentTimeline(registered, unsaved=0)
    for k in range(licences):
        event = _decoded(pe.licence(f"lic-{i}-{k}", DAY + timedelta(days=k % 300), [pe.A],
                                    f"9133000000{k % 5_000:08d}"))
        timeline.keys.append((event.effective_on, 10 + k))
        timeline.events.append(event)
    timeline.latest = timeline.keys[-1] if timeline.keys else None
    timeline.compact()
    return timeline


def test_a_writer_record_costs_about_what_the_setting_states() -> None:
    """README: a compacted patent weighs 8 + its licences and pledges, about 0.4 KB each,
    from a patent with none to a popular one (its records' values shared when compacted)."""
    for licences, patents in ((0, 1_000), (8, 1_000), (100, 100), (2_000, 5)):
        gc.collect()
        tracemalloc.start()
        kept = [writer_timeline(i, licences) for i in range(patents)]
        measured = tracemalloc.get_traced_memory()[0] / patents
        tracemalloc.stop()
        assert kept[0].weight == PATENT_RECORDS + licences
        assert within(RECORD_BYTES * kept[0].weight, measured), (licences, measured)


def test_a_compacted_state_shares_its_records_values_and_means_the_same() -> None:
    """Without sharing, a popular patent's records cost three times as much (the bound would
    be a third of what it says); sharing changes no record's value."""
    timeline = writer_timeline(1, 50)
    records = list(timeline.current().licences.values())
    assert len({id(r.licensors) for r in records}) == 1
    assert len({id(r.licensee) for r in records}) == len({r.licensee for r in records})
    folded = PatentTimeline(timeline.registered)
    for k in range(50):
        folded.place(pe.licence(f"lic-1-{k}", DAY + timedelta(days=k % 300), [pe.A],
                                f"9133000000{k:08d}"), 10 + k)
    assert folded.current() == timeline.current()


def judged(i: int, changes: int, kept: Lru[str, dict[str, Flag]]) -> dict[str, Flag]:
    """A patent's flags as the anomaly projection keeps them after judging it: owned by `a`,
    it goes to `b` and back every ten days (AR-1 and AR-2 flag it), into an `Lru` as the
    projection's cache holds them."""
    number = f"CN{i}"
    facts = PatentFacts(number, "invention", date(2040, 1, 1), 1, frozenset({"a"}))
    for k in range(changes):
        sellers, buyers = ("a", f"b{i % 1000}") if k % 2 == 0 else (f"b{i % 1000}", "a")
        facts.changes.append(Change(DAY + timedelta(days=10 * k), 10 + k, f"T{i}-{k}",
                                    "OwnershipTransferred", frozenset({sellers}),
                                    frozenset({buyers}), Money(Decimal(100_000), "CNY"), None))
    world = AnomalyFacts()
    world.patents[number] = facts
    flags = {f.id: f for f in evaluate(world, f"patent:{number}")}
    kept.put(f"patent:{number}", flags)
    return flags


def test_a_scopes_kept_flags_weigh_what_they_allocate() -> None:
    for changes, scopes in ((0, ENTRIES), (4, ENTRIES), (16, 200), (200, 20)):
        kept: Lru[str, dict[str, Flag]] = Lru(1 << 40, anomaly_tables.flags_weight)
        measured, flags = allocated(partial(judged, changes=changes, kept=kept), scopes)
        assert (len(flags) > changes) == (changes > 0), "the patent is flagged as it flips"
        assert within(anomaly_tables.flags_weight(flags), measured), (len(flags), measured)
