"""The collector under the writer: off while postings keep coming, on schedule between groups.

A leak here would not show in any answer, only in a service that grows until it is killed, so
these tests hold the promises of ledger/heap.py: garbage cycles made while the writer is busy
are still collected, what survives is frozen, and an idle writer hands the collector back.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future

import pytest

from ledger import decisions as d
from ledger import heap
from ledger.register import Register
from ledger.service import LedgerService
from ledger.writer import IDLE_SECONDS, Result


class _Node:
    def __init__(self) -> None:
        self.partner: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    """A pair of objects that only the cyclic collector can free; a reference to watch it."""
    first, second = _Node(), _Node()
    first.partner, second.partner = second, first
    return weakref.ref(first)


@pytest.fixture
def low_thresholds() -> Iterator[None]:
    """Small thresholds, so that a collection falls due within a few postings."""
    saved, enabled = gc.get_threshold(), gc.isenabled()
    gc.set_threshold(200, 5, 5)
    try:
        yield
    finally:
        gc.set_threshold(*saved)
        if enabled:
            gc.enable()


def test_collect_due_collects_only_when_a_generation_is_due(low_thresholds: None) -> None:
    gc.disable()
    gc.collect()
    watched = _cycle()
    heap.collect_due()
    assert watched() is not None, "nothing was due: no collection should have run"
    kept = [[] for _ in range(400)]  # containers past the young threshold
    heap.collect_due()
    assert watched() is None, "the young generation was due and holds the cycle"
    assert kept


def test_the_survivors_of_a_due_collection_are_frozen(low_thresholds: None) -> None:
    """Survivors are nearly all register: left unfrozen, every older collection would scan
    them again."""
    gc.disable()
    gc.collect()
    frozen = gc.get_freeze_count()
    few = [[] for _ in range(50)]
    heap.collect_due()
    assert gc.get_freeze_count() == frozen, "nothing was due: nothing should be frozen"
    kept = [[] for _ in range(400)]
    heap.collect_due()
    assert gc.get_freeze_count() >= frozen + len(kept) + len(few), "survivors left unfrozen"


def _nothing(register: Register, stamp: d.Stamp) -> d.Outcome:
    return d.Invalid([])


def test_cycles_made_while_the_writer_is_busy_are_collected(
    service: LedgerService, low_thresholds: None
) -> None:
    stop = threading.Event()

    def keep_posting() -> None:  # a few postings always waiting: the writer never idles
        waiting: deque[Future[list[Result]]] = deque()
        while not stop.is_set():
            waiting.append(service.writer.post(_nothing, "test"))
            if len(waiting) > 4:
                waiting.popleft().result(10)

    poster = threading.Thread(target=keep_posting)
    poster.start()
    try:
        deadline = time.monotonic() + 20
        while gc.isenabled() and time.monotonic() < deadline:
            time.sleep(0.001)
        assert not gc.isenabled(), "the busy writer should keep the automatic collector off"
        watched = _cycle()  # made while the automatic collector is off
        kept = []
        while watched() is not None and time.monotonic() < deadline:
            kept.append([[] for _ in range(50)])  # objects that stay, as the register's do
            time.sleep(0.001)
        assert watched() is None, "a cycle made while the writer was busy was never freed"
    finally:
        stop.set()
        poster.join()
    time.sleep(IDLE_SECONDS * 3)
    assert gc.isenabled(), "an idle writer must hand the collector back"

