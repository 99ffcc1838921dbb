"""Long-lived folds and CPython's cyclic garbage collector.

The writer's register and the projections' folds keep every event in memory for the life of the
process. CPython's collector rescans every tracked object of its oldest generation on each full
collection, so full collections grow with the log while finding almost nothing to free: in the
write benchmark (2026-11-26) they took 115 to 250 ms each by 70,000 events, a fifth of the API's
CPU, and collected 30 objects in all. Objects that survive a collection after being folded in are
nearly all fold, kept until the process ends: freezing them moves them to the permanent
generation, which collections skip.

The cost: a cycle that is frozen and later dropped is never collected (reference counting still
frees everything acyclic, which is all the folds hold). One collection per FREEZE_EVERY events
scans only what was created since the last freeze.

While postings keep coming the writer turns the automatic collector off and calls
`collect_due` at the start of each group (ledger/writer.py); an idle writer turns it back on.
There the survivors of each collection are frozen at once: a young collection finds the
register's new objects alive, and they would otherwise be scanned again by every older
collection until the next freeze (measured 2026-11-26, in-process batches, five alternating
runs: 9,999 events/s against 8,966, and 94 us of CPU an event against 106). Objects of
requests in flight are frozen with them, as they were by every freeze before; a request's
cycle that dies later is then not collected. Measured over 50,000 deals and 19,000 refused
or malformed requests, the garbage found by unfreezing and collecting at the end did not grow
with the work (about 3,000 to 11,000 objects, the same under the earlier schedule; most of it
from startup).
"""

from __future__ import annotations

import gc
import threading

FREEZE_EVERY = 10_000  # events folded in between two freezes
YOUNG_THRESHOLD = 20_000  # allocations between young collections (CPython's default: 700)

_lock = threading.Lock()
_unfrozen = 0


def tune() -> None:
    """For a long-running service: collect the young generation less often.

    Judging a deal allocates about fifty objects, most of them kept in the register; at the
    default threshold a young collection ran every fourteen deals. Measured on the write
    benchmark (2026-11-26): 20,000 instead of 700 saved about 15 us of CPU per batched deal.
    100,000 measured about 5 us less again on the write path, but the read benchmark run with
    it showed the GraphQL `patent` query's p99 at 77 ms instead of 30 (p50 22.8 instead of
    18.9 on a slower machine that hour): larger young collections land on the tail of
    read latency. Kept at 20,000 until the two are measured side by side.
    """
    gc.set_threshold(YOUNG_THRESHOLD, 20, 100)


def collect_due() -> None:
    """Run the collection CPython's schedule would have run by now, here and now, and freeze
    what survives it.

    The writer keeps the automatic collector off while postings keep coming, and calls this
    between groups: the last group's answers are sent by then, so a young collection scans
    the register's new objects and the next group's commands, not also the last group's
    transient objects still being answered (an automatic one fires wherever an allocation
    tips the count, typically while those are alive). Same thresholds, same generations.
    What survives is nearly all register, kept for the life of the process: frozen, it is
    not scanned again (see the module's docstring for what that costs).
    """
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        if counts[generation] > thresholds[generation]:
            gc.collect(generation)
            gc.freeze()
            return


def folded(events: int) -> None:
    """Note that `events` more events were folded into a long-lived structure."""
    global _unfrozen
    with _lock:
        _unfrozen += events
        if _unfrozen < FREEZE_EVERY:
            return
        _unfrozen = 0
    freeze()


def freeze() -> None:
    """Collect what is garbage now, then freeze every survivor (after loading a whole log)."""
    gc.collect()
    gc.freeze()
