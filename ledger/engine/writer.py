"""The single writer: judges postings against the register and commits them in groups.

One save per event was about 800 events/s here, because every save takes the event table's
lock. So one thread owns the write path: it takes every posting waiting in its queue (up to
MAX_GROUP deals), judges each against the register in arrival order, and saves all accepted
events in one transaction (sent to PostgreSQL in chunks while it judges on: a deal's event as
soon as the deal is accepted, an atomic posting's once all its deals are or, for a large one,
as it goes behind a savepoint; see ledger/storage/group_append.py). Each posting stays all or
nothing: a refused deal adds no event, and an atomic batch whose deal is refused takes back
the events of its other deals. If the save fails, every event of the group is taken back and
each caller hears 503.

A batch arrives from the batch preparer while its child still validates the rest (a streamed
posting). The writer never waits for a slice while it holds the table lock: a group holding
a streamed posting is judged ahead, before the lock, each slice as it comes (`_judge_ahead`);
then, under the lock, if no other process stored anything meanwhile, its events are inserted
as judged; if one did, the writer takes its judgement back, folds in what was stored, and
judges the group again under the lock, every slice being there by then. A batch found invalid
part way is taken back whole (`PostingWithdrawn`) and the rest of the group goes on.

The register it judges against lives in PostgreSQL (ledger/engine/register.py): under the lock, the
writer loads in one round trip what the group's postings name and its cache does not hold,
and files the group's events in the state tables in the same transaction. A start reads no
event of the log.

Other processes may write too (a second API, an importer). The writer judges each group while
it holds the event table's lock, after folding in whatever other processes stored since it last
looked, so no one can store between its judgement and its insert. An earlier optimistic design
(save only if the log had not moved, else judge again) livelocked with eight writer processes
on two cores; the lock costs nothing when this writer is alone, and queues the others fairly.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from ledger.engine.register import CACHE_EVENTS, Posted, Register
from ledger.law import events as ev
from ledger.law.rules import Refusal
from ledger.metrics import Metrics
from ledger.posting.decisions import (
    Accepted,
    Conflict,
    Faulted,
    Outcome,
    Replayed,
    Skipped,
    Stamp,
    wants,
)
from ledger.storage import group_append
from ledger.storage.group_append import ChunkedAppend
from ledger.storage.state_tables import StateTables
from ledger.storage.store import LedgerStore

log = logging.getLogger("ledger.engine.writer")

MAX_GROUP = 2_000  # deals per transaction
MAX_QUEUE = 20_000  # postings waiting; beyond it callers get 503 with Retry-After
GROUP_LINGER_SECONDS = 0.002  # how long a group waits for more postings under load
IDLE_SECONDS = 0.1  # no posting for this long: the writer is idle
IDLE_CATCH_UP_SECONDS = 1.0  # an idle writer folds in other processes' events this often
YOUNG_COLLECTION = 3_000  # allocations between the collector's young passes (CPython: 700)
MIDDLE_COLLECTION = 10  # young passes between passes over the middle generation (CPython: 10)
MAX_CATCH_UP = 20_000  # events of other processes folded into the cache; beyond, it starts over

Decide = Callable[[Register, Stamp], Outcome]


class Decisions(Protocol):
    """A posting's decisions, judged in order: a list, or a batch whose deals are still
    arriving from the batch preparer (iterating may wait for them, never under the lock)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Decide]: ...


class Overloaded(RuntimeError):
    """The writer's queue is full: the caller should retry after a moment (503)."""


class PostingWithdrawn(Exception):
    """Raised by a streamed posting's decisions while they are judged (its body turned out
    invalid, or stopped arriving): the posting is taken back whole and its caller gets this
    exception; the rest of the group goes on."""


class StoreUnavailable(RuntimeError):
    """The group's transaction did not commit; nothing of it was stored (503)."""


class Result(NamedTuple):
    """What became of one posting. `posted` is set when events are (or were) stored.

    A named tuple: one is made per deal, and building one costs a third of a frozen
    dataclass's guarded `__init__`.
    """

    outcome: Outcome
    posted: Posted | None = None
    created: bool = False
    positions: tuple[int, ...] = ()  # of the events this posting stored


@dataclass(slots=True)
class _Posting:
    decisions: Decisions
    posted_by: str
    atomic: bool
    streamed: bool = False  # its decisions may wait for slices, or stop with PostingWithdrawn
    future: Future[list[Result]] = field(default_factory=Future)


class Writer:
    def __init__(self, store: LedgerStore, metrics: Metrics,
                 cache_events: int = CACHE_EVENTS) -> None:
        self._store = store
        self._tables = StateTables(store)
        self._cache_events = cache_events
        self._metrics = metrics
        self._queue: queue.Queue[_Posting] = queue.Queue(maxsize=MAX_QUEUE)
        self._register: Register | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._busy = False  # the last group held several postings: concurrent load
        self._caught_up_at = 0.0  # monotonic time of the last idle catch-up
        metrics.counter("ledger_postings_total", "Postings by outcome")
        metrics.counter("ledger_rule_refusals_total", "Refusals by rule code")
        metrics.counter("ledger_groups_total", "Group commits")
        metrics.counter("ledger_events_caught_up_total",
                        "Events other processes stored, folded in under the table lock")
        metrics.counter("ledger_events_stored_total", "Events stored")
        metrics.counter("ledger_groups_judged_again_total",
                        "Groups judged ahead of the lock, judged again under it because "
                        "another process stored events meanwhile")
        metrics.histogram("ledger_group_deals", "Postings per group commit",
                          (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000))
        metrics.histogram("ledger_group_seconds", "Time to judge and commit a group",
                          (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5))
        metrics.gauge("ledger_writer_queue", "Postings waiting for the writer", self._queue.qsize)
        metrics.gauge("ledger_position", "Last position the writer has seen",
                      lambda: float(self._register.position if self._register else 0))
        metrics.counter("ledger_state_loads_total",
                        "Round trips to the writer's state tables (cache misses)")
        metrics.counter("ledger_state_snapshots_read_total",
                        "Patents loaded from a snapshot and the events after it")
        metrics.counter("ledger_state_snapshots_kept_total",
                        "Snapshots taken of patents the cache let go (written with a group)")
        metrics.gauge("ledger_writer_cache_events", "Patents' events in the writer's cache",
                      lambda: float(self._register.cached_events if self._register else 0))

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._tables.catch_up()  # nothing to do unless the log predates the state tables
        self._register = self._new_register()
        _spare_the_collector()
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def position(self) -> int:
        return self._register.position if self._register else 0

    # --- posting ------------------------------------------------------------------------

    def post(self, decide: Decide, posted_by: str) -> Future[list[Result]]:
        return self.post_many([decide], posted_by, atomic=True)

    def post_many(
        self, decisions: Decisions, posted_by: str, *, atomic: bool, streamed: bool = False
    ) -> Future[list[Result]]:
        """Queue a posting: each decision judged in order, all of them or each on its own.
        `streamed`: its decisions are still arriving (a batch from the batch preparer), may
        stop with `PostingWithdrawn`, and may offer `slices()` to be loaded a slice at a
        time; its group is judged before the lock (see the module's docstring)."""
        posting = _Posting(decisions, posted_by, atomic, streamed)
        try:
            self._queue.put_nowait(posting)
        except queue.Full:
            raise Overloaded(f"{MAX_QUEUE} postings are waiting; retry shortly") from None
        return posting.future

    def post_and_wait(self, decide: Decide, posted_by: str, timeout: float = 30) -> Result:
        """For the command line and tests: post one thing and wait for its result."""
        return self.post(decide, posted_by).result(timeout)[0]

    # --- the writer thread --------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._serve_one_group()

    def _serve_one_group(self) -> None:
        try:
            first = self._queue.get(timeout=IDLE_SECONDS)
        except queue.Empty:
            self._catch_up_when_idle()
            return
        group = [first]
        deals = len(first.decisions)
        # Under concurrent load, wait a moment for the postings still being parsed: one
        # commit (one fsync) then serves them all. Alone, a posting does not wait.
        linger_until = time.monotonic() + (GROUP_LINGER_SECONDS if self._busy else 0)
        while deals < MAX_GROUP:
            try:
                wait = linger_until - time.monotonic()
                more = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            group.append(more)
            deals += len(more.decisions)
        self._busy = len(group) > 1
        try:
            self._commit_group(group)
        except Exception as error:  # a bug must not kill the writer or strand callers
            log.exception("writer failed on a group; reloading the register")
            self._register = None
            _fail_all(group, error)

    def _commit_group(self, group: list[_Posting]) -> None:
        started = time.perf_counter()
        try:
            register = self._current_register()
        except Exception as error:  # the database is away: every caller hears 503
            log.warning("writer cannot read the store: %s", error)
            self._register = None
            _fail_all(group, StoreUnavailable(f"the event store is unavailable: {error}"))
            return
        loads, read, kept = register.loads, register.snapshots_read, register.snapshots_kept
        try:
            self._judge_and_save(register, group)
        finally:
            register.settle()
        self._metrics.inc("ledger_state_loads_total", register.loads - loads)
        self._metrics.inc("ledger_state_snapshots_read_total", register.snapshots_read - read)
        self._metrics.inc("ledger_state_snapshots_kept_total", register.snapshots_kept - kept)
        self._metrics.inc("ledger_groups_total")
        self._metrics.observe("ledger_group_deals", sum(len(p.decisions) for p in group))
        self._metrics.observe("ledger_group_seconds", time.perf_counter() - started)

    def _judge_and_save(self, register: Register, group: list[_Posting]) -> None:
        """Judge and store one group in one transaction, under the event table's lock (judged
        before it when the group holds a streamed posting, and again under it if another
        process stored events meanwhile)."""
        answers: list[list[Outcome] | PostingWithdrawn] = []
        ahead = _judge_ahead(register, group) if any(p.streamed for p in group) else None

        def judge(missed: list[tuple[int, ev.LedgerEvent]], store: ChunkedAppend) -> None:
            nonlocal ahead
            store.add_snapshots(register.departed())
            if ahead is not None and missed:  # judged on a register that has moved since
                ahead.take_back(register)
                ahead = None
                self._metrics.inc("ledger_groups_judged_again_total")
            for position, event in missed:  # stored by another process a moment ago
                register.apply(event, position)
            self._metrics.inc("ledger_events_caught_up_total", len(missed))
            if ahead is not None:
                answers.extend(ahead.answers)
                for events in ahead.kept:
                    store.add(events)
                return
            keys: set[str] = set()
            numbers: set[str] = set()
            for posting, gone in zip(group, withdrawn, strict=True):
                if gone is None:  # (a streamed posting here is whole: judged ahead before)
                    for decide in posting.decisions:
                        wants(decide, keys, numbers)
            register.prefetch(keys, numbers)  # one round trip for what is not cached
            stamp_time = datetime.now(UTC)  # under the lock: recorded_at follows log order
            for posting, gone in zip(group, withdrawn, strict=True):
                if gone is not None:  # taken back when judged ahead: it stays so
                    answers.append(gone)
                    continue
                answers.append(_judge_posting(register, posting,
                                              Stamp(posting.posted_by, stamp_time), store))

        withdrawn: list[PostingWithdrawn | None] = [None] * len(group) if ahead is None else [
            a if isinstance(a, PostingWithdrawn) else None for a in ahead.answers]
        expected = (sum(len(p.decisions) for p in group) if ahead is None
                    else sum(len(e) for e in ahead.kept))
        try:
            start = ahead.position if ahead is not None else register.position
            stored = self._store.append_judged(start, judge, expected=expected)
        except Exception as error:
            log.warning("a group of %d postings did not commit: %s", len(group), error)
            self._register = None  # the cache starts over: the outcome may be unknown
            _fail_all(group, StoreUnavailable(f"the event store did not commit: {error}"))
            return
        confirmed: dict[int, tuple[int, Posted | None]] = {}  # by id(event)
        for position, event in stored:
            confirmed[id(event)] = position, register.confirm(event, position)
        self._metrics.inc("ledger_events_stored_total", len(stored))
        tally: Counter[tuple[str, str]] = Counter()
        for posting, outcomes in zip(group, answers, strict=True):
            if posting.future.done():  # a caller may have stopped waiting (cancelled)
                continue
            if isinstance(outcomes, PostingWithdrawn):
                tally["outcome", "withdrawn"] += 1
                posting.future.set_exception(outcomes)
                continue
            posting.future.set_result([_result(register, o, confirmed, tally) for o in outcomes])
        for (label, value), count in tally.items():  # once per group, not once per deal
            name = "ledger_rule_refusals_total" if label == "rule" else "ledger_postings_total"
            self._metrics.inc(name, count, **{label: value})

    # --- keeping the register true to the log ---------------------------------------------

    def _catch_up_when_idle(self) -> None:
        """Fold in what other processes (`demo`, `import`, another API) stored, at most once
        every IDLE_CATCH_UP_SECONDS while no posting waits: `position` then says how far this
        writer has seen the log, not where it last wrote, and the next group finds little to
        fold under the lock. A store that is away is left for the next posting."""
        now = time.monotonic()
        if now - self._caught_up_at < IDLE_CATCH_UP_SECONDS:
            return
        self._caught_up_at = now
        try:
            self._current_register()
        except Exception as error:  # the next posting reports it (503)
            log.debug("idle catch-up could not read the store: %s", error)
            self._register = None

    def _new_register(self) -> Register:
        """An empty cache over the state tables, as far as they are filed: no event is read."""
        register = Register(self._tables, self._tables.position(),
                            max_events=self._cache_events)
        log.info("register opened at position %d (cache: %d events)", register.position,
                 self._cache_events)
        return register

    def _current_register(self) -> Register:
        """The register, its cache brought up to the log's head as this writer last saw it.

        Read before taking the table lock, so that the read under the lock finds little or
        nothing and the lock is held briefly. Only what is cached changes; when other
        processes stored more than MAX_CATCH_UP events, the cache starts over instead (the
        tables hold it all), so this never reads a long stretch of the log.
        """
        if self._register is None:
            self._register = self._new_register()
        register = self._register
        missed = self._store.read(register.position, MAX_CATCH_UP + 1)
        if len(missed) > MAX_CATCH_UP:
            self._register = register = self._new_register()
            return register
        for position, event in missed:
            register.apply(event, position)
        return register


@dataclass(slots=True)
class _Ahead:
    """A group judged before the lock: each posting's answer, and the events that stand, in
    order; `position` is the log's head the judgement was made on."""

    position: int
    answers: list[list[Outcome] | PostingWithdrawn]
    kept: list[list[ev.LedgerEvent]]

    def take_back(self, register: Register) -> None:
        for events in reversed(self.kept):
            for event in reversed(events):
                register.retract(event)


def _judge_ahead(register: Register, group: list[_Posting]) -> _Ahead:
    """Judge the group on the register as this writer last saw the log, without the lock: a
    streamed posting's slices are loaded and judged as they arrive, so the batch preparer's
    child validates the next slice while this one is judged. Nothing is sent to the store."""
    ahead = _Ahead(register.position, [], [])
    stamp = datetime.now(UTC)
    for posting in group:
        mine: list[ev.LedgerEvent] = []
        outcomes: list[Outcome] = []
        try:
            for part in _slices(posting.decisions):
                keys: set[str] = set()
                numbers: set[str] = set()
                for decide in part:
                    wants(decide, keys, numbers)
                register.prefetch(keys, numbers)
                for decide in part:
                    outcome = _judged(decide, register, Stamp(posting.posted_by, stamp),
                                      posting.posted_by)
                    outcomes.append(outcome)
                    if isinstance(outcome, Accepted):
                        for event in outcome.events:
                            register.apply(event)
                        mine.extend(outcome.events)
                    elif posting.atomic and not isinstance(outcome, Replayed):
                        raise _Refused(len(outcomes) - 1, outcome)
        except PostingWithdrawn as withdrawn:
            _take_back(register, mine, None)
            ahead.answers.append(withdrawn)
            continue
        except _Refused as refused:
            _take_back(register, mine, None)
            ahead.answers.append([refused.outcome if i == refused.index else Skipped(refused.index)
                                  for i in range(len(posting.decisions))])
            continue
        ahead.answers.append(outcomes)
        if mine:
            ahead.kept.append(mine)
    return ahead


class _Refused(Exception):
    """An atomic posting's deal that failed, ending its judgement ahead of the lock."""

    def __init__(self, index: int, outcome: Outcome) -> None:
        super().__init__(index)
        self.index, self.outcome = index, outcome


def _slices(decisions: Decisions) -> Iterator[list[Decide]]:
    """A posting's decisions a slice at a time: as the batch preparer delivers them when the
    posting offers `slices()`, else all at once."""
    slices = getattr(decisions, "slices", None)
    if slices is not None:
        yield from slices()
    else:
        yield list(decisions)


def _spare_the_collector() -> None:
    """Judging a deal allocates about a hundred objects, so CPython's cyclic collector runs
    its young pass every few deals and its full pass, which scans every object the process
    has, every few hundred. What exists once the service has started (modules, models,
    schemas) lives as long as the process: frozen, the full passes skip it. Young passes run
    every YOUNG_COLLECTION allocations instead of 700, but not many more: the API's reads
    share this process, and a GraphQL answer is built of tens of thousands of live objects,
    so a young pass that finds 20,000 of them stops that answer for over 10 ms (the
    `patent` query's p99; BENCHMARKS.md, section "scale"), where 3,000 cost about one."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION, MIDDLE_COLLECTION, 100)


def _judge_posting(register: Register, posting: _Posting, stamp: Stamp, store: ChunkedAppend
                   ) -> list[Outcome]:
    """Judge each decision in order and hand the store the events that will stand: a deal's
    as soon as it is accepted; an atomic posting's only once all its deals are. A large
    atomic posting is sent as it goes, behind a savepoint the store rolls back if a deal is
    refused."""
    outcomes: list[Outcome] = []
    mine: list[ev.LedgerEvent] = []  # what to take back if the posting fails
    behind_savepoint = posting.atomic and len(posting.decisions) > group_append.CHUNK
    if behind_savepoint:
        store.mark()
    for decide in posting.decisions:
        outcome = _judged(decide, register, stamp, posting.posted_by)
        outcomes.append(outcome)
        if isinstance(outcome, Accepted):
            for event in outcome.events:
                register.apply(event)
            if posting.atomic:
                mine.extend(outcome.events)
            if not posting.atomic or behind_savepoint:
                store.add(outcome.events)
        elif posting.atomic and not isinstance(outcome, Replayed):
            _take_back(register, mine, store if behind_savepoint else None)
            failed_at = len(outcomes) - 1
            return [
                outcome if i == failed_at else Skipped(failed_at)
                for i in range(len(posting.decisions))
            ]
    if behind_savepoint:
        store.release()
    elif posting.atomic and mine:
        store.add(mine)
    return outcomes


def _judged(decide: Decide, register: Register, stamp: Stamp, posted_by: str) -> Outcome:
    """The decision's outcome, or `Faulted` when it raised: a decision only reads the register
    (ledger/posting/decisions.py), so a fault leaves it as it was and the group goes on without this
    posting, instead of every caller of the group hearing 503 again on each retry."""
    try:
        return decide(register, stamp)
    except PostingWithdrawn:
        raise
    except Exception as fault:
        log.exception("judging a posting by %s raised; it alone is refused (500)", posted_by)
        return Faulted(type(fault).__name__)


def _take_back(register: Register, events: list[ev.LedgerEvent],
               store: ChunkedAppend | None) -> None:
    """Retract a posting's events from the register, latest first, and from the store
    (back to its savepoint) when they were sent."""
    for event in reversed(events):
        register.retract(event)
    if store is not None:
        store.undo()


def _result(register: Register, outcome: Outcome,
            confirmed: dict[int, tuple[int, Posted | None]],
            tally: Counter[tuple[str, str]]) -> Result:
    """The answer for one posting; `tally` counts outcomes (and refused rules) for metrics."""
    if isinstance(outcome, Accepted):
        tally["outcome", "accepted"] += 1
        events = outcome.events
        position, posted = confirmed[id(events[0])]
        positions = (position,) if len(events) == 1 else tuple(
            confirmed[id(e)][0] for e in events)
        return Result(outcome, posted, created=True, positions=positions)
    if isinstance(outcome, Replayed):  # read again: it may have been stored in this group
        tally["outcome", "replayed"] += 1
        return Result(outcome, register.posted[outcome.posted.key])
    if isinstance(outcome, Refusal):
        tally["rule", outcome.rule] += 1
    elif isinstance(outcome, Conflict) and "first_position" not in outcome.facts:
        # The first posting was pending in this group when the conflict was judged: name the
        # position it was stored at, if it was (an atomic batch's may have been taken back).
        first = register.posted.get(outcome.facts.get("key", ""))
        if first is not None and first.position:
            outcome = Conflict(outcome.detail, {**outcome.facts, "first_position": first.position})
    tally["outcome", type(outcome).__name__.lower()] += 1
    return Result(outcome)


def _fail_all(group: list[_Posting], error: Exception) -> None:
    for posting in group:
        if not posting.future.done():
            posting.future.set_exception(error)
