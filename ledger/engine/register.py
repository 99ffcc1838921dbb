"""The register the writer judges deals against: parties, patent timelines, deals and answers.

It lives in PostgreSQL (migrations/014_writer_state.sql: the writer's state tables, kept in the
same transaction as the events), and this class is its bounded cache, owned by the single
writer thread (`ledger/engine/writer`). At the start of each group, under the event table's lock, the
writer folds in what other processes stored since it last looked, then `prefetch`es in one
round trip every posting and patent the group's deals name that is not cached; anything a
decision asks for beyond that is loaded on demand. Nothing is evicted while a group is judged,
so the group's own pending events are never lost; `settle` trims the cache to its bounds after.

Each patent keeps its events in effective-date order, so a backdated deal is judged on the
register as it stood on its effective date and then every later event is judged again with it
in place ("must not break a later event").
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, NamedTuple, Protocol, TypeVar
from uuid import UUID

from ledger.law import events as ev
from ledger.law import patent_state as ps
from ledger.law.keys import deal_key, listing_key, party_key, patents_of, posting_key
from ledger.law.rules import Refusal, check
from ledger.posting.posted import Posted, posted_for
from ledger.storage import snapshots
from ledger.storage.snapshots import Snapshot

__all__ = ["Posted", "Register", "StateSource", "deal_key", "posting_key"]

CACHE_EVENTS = 100_000  # records the cached patents weigh (LEDGER_WRITER_CACHE), about 0.4 KB
# each (about 40 MB in all; tracemalloc, tests/test_cache_weights.py): a compacted patent
# weighs PATENT_RECORDS + its licences and pledges, a whole one its events (EVENT_RECORDS each)
PATENT_RECORDS = 8  # a patent's own registration and state, without licences or pledges
EVENT_RECORDS = 10  # a decoded event (about 4 KB), held only while its group is judged
CACHE_POSTINGS = 20_000  # answers (and their parties, deals, listings) the cache holds
CACHE_STREAMS = 10_000  # stream versions (patents' and listings' own streams)

Stored = tuple[int, ev.LedgerEvent]  # an event and its position in the log


class StateSource(Protocol):
    """The writer's state tables, as the register reads them (ledger/storage/state_tables.py)."""

    def load(self, keys: Collection[str], numbers: Collection[str], whole: bool = False
             ) -> tuple[dict[str, Stored], dict[str, list[Stored]], dict[str, Snapshot]]:
        """In one round trip, the events answering `keys`, and for the patents `numbers`
        their snapshots (unless `whole`) and the events filed after them, or all their
        events; keys and patents the log does not hold are left out."""
        ...

    def stream_version(self, stream: UUID) -> int:
        """The highest version stored for `stream` (0: none)."""
        ...


@dataclass(slots=True)
class PatentTimeline:
    """One patent's events in effective-date order, or, once the group that used it is over,
    only its current state (`compact`): all a deal dated after everything needs, at a tenth
    of the memory. A backdated deal needs the events again: the register reloads them."""

    registered: ev.PatentRegistered
    # (effective_on, sequence) keys kept sorted beside the events they order; the sequence of
    # a stored event is its position, of a pending one a number above every stored position.
    keys: list[tuple[date, int]] = field(default_factory=list)
    events: list[ev.LedgerEvent] = field(default_factory=list)
    _current: ps.PatentState | None = None
    complete: bool = True  # False: compacted, `keys` and `events` empty
    latest: tuple[date, int] | None = None  # the last key, kept in both forms
    pending: list[ev.LedgerEvent] = field(default_factory=list)  # placed since compacted
    unsaved: int = 0  # events folded in since the snapshot in the tables (all: none there)

    @property
    def number(self) -> str:
        return self.registered.number

    def current(self) -> ps.PatentState:
        """The state after every event (cached; rebuilt after a backdated insert or retract)."""
        if self._current is None:
            assert self.complete, "a compacted timeline keeps its current state"
            self._current = self.state_on(None)
        return self._current

    def state_on(self, day: date | None) -> ps.PatentState:
        """The register for this patent on `day` (None: after everything recorded)."""
        state = ps.start_state(self.registered)
        for key, event in zip(self.keys, self.events, strict=True):
            if day is not None and key[0] > day:
                break
            ps.apply(state, event)
        return state

    def backdated(self, day: date) -> bool:
        """Whether an event dated `day` falls before the latest one (judged on the past)."""
        return self.latest is not None and day < self.latest[0]

    def judge(self, event: ev.LedgerEvent) -> Refusal | None:
        """Refusal if `event` breaks a rule on its date or makes a later event unlawful."""
        day = event.effective_on
        if not self.backdated(day):
            return check(self.current(), event)
        assert self.complete, "the register loads a patent's events before a backdated deal"
        state = ps.start_state(self.registered)
        index = bisect.bisect_right(self.keys, (day, 1 << 62))
        for earlier in self.events[:index]:
            ps.apply(state, earlier)
        refusal = check(state, event)
        if refusal is not None:
            return refusal
        ps.apply(state, event)
        for later in self.events[index:]:
            broken = check(state, later)
            if broken is not None:
                return _breaks_later(event, later, broken)
            ps.apply(state, later)
        return None

    def place(self, event: ev.LedgerEvent, sequence: int) -> None:
        key = (event.effective_on, sequence)
        self.unsaved += 1
        if self.latest is None or key > self.latest:  # the usual case: the latest so far
            if self.complete:
                self.keys.append(key)
                self.events.append(event)
            else:
                self.pending.append(event)
            if self._current is not None:
                ps.apply(self._current, event)
            self.latest = key
            return
        assert self.complete, "the register loads a patent's events before a backdated one"
        index = bisect.bisect_left(self.keys, key)
        if index < len(self.keys) and self.keys[index] == key:
            return  # already here (a position is placed once)
        self.keys.insert(index, key)
        self.events.insert(index, event)
        self._current = None

    def retract(self, event: ev.LedgerEvent) -> None:
        assert self.complete, "the register reloads a compacted timeline to take one back"
        index = next(i for i, e in enumerate(self.events) if e is event)
        del self.keys[index]
        del self.events[index]
        self._current = None
        self.latest = self.keys[-1] if self.keys else None

    def compact(self) -> None:
        """Keep the current state and the latest key only (after the group that used it),
        its records' values shared as a snapshot's are (a state folded from events holds
        copies of its own)."""
        if self.complete:
            snapshots.share_values(self.current())
            self.keys, self.events, self.complete = [], [], False
        self.pending = []

    @property
    def weight(self) -> int:
        """What this timeline costs the cache, in records of about 0.4 KB: its events, or
        its state and the state's records (their values shared: `compact`)."""
        if self.complete:
            return PATENT_RECORDS + EVENT_RECORDS * len(self.events)
        state = self.current()
        return PATENT_RECORDS + len(state.licences) + len(state.pledges) + len(self.pending)


def _from_events(events: list[Stored]) -> PatentTimeline | None:
    """A patent's timeline from all its events (None: not registered)."""
    registered = events[0][1] if events else None
    if not isinstance(registered, ev.PatentRegistered):
        return None
    timeline = PatentTimeline(registered, unsaved=len(events))
    for position, event in sorted(events[1:], key=lambda s: (s[1].effective_on, s[0])):
        timeline.keys.append((event.effective_on, position))
        timeline.events.append(event)
    timeline.latest = timeline.keys[-1] if timeline.keys else None
    return timeline


def _from_snapshot(snapshot: Snapshot, after: list[Stored]) -> PatentTimeline | None:
    """A compacted timeline from a snapshot and the events filed after it, folded in date
    order; None when one of them is dated before the snapshot's latest event (the patent
    must then be loaded whole, to be folded in date order)."""
    # Every event the snapshot holds has a position at or below the snapshot's, so that
    # position orders its latest event before any filed after it on the same date.
    latest = None if snapshot.latest is None else (snapshot.latest[0], snapshot.position)
    state = snapshot.state
    snapshots.share_values(state)  # a snapshot taken before values were shared holds copies
    for position, event in sorted(after, key=lambda s: (s[1].effective_on, s[0])):
        key = (event.effective_on, position)
        if latest is not None and key < latest:
            return None
        ps.apply(state, event)
        latest = key
    return PatentTimeline(snapshot.registered, _current=state, complete=False, latest=latest,
                          unsaved=len(after))


def _breaks_later(event: ev.LedgerEvent, later: ev.LedgerEvent, broken: Refusal) -> Refusal:
    later_id = getattr(later, "deal_id", None) or f"{later.TOPIC}@{later.effective_on}"
    return Refusal(
        broken.rule,
        f"backdated to {event.effective_on}, this would make later event {later_id} "
        f"({later.TOPIC} on {later.effective_on}) unlawful: {broken.detail}",
        {**broken.facts, "breaks_later_event": later_id,
         "later_effective_on": later.effective_on.isoformat()},
    )


class _Answer(NamedTuple):
    posted: Posted
    event: ev.LedgerEvent


V = TypeVar("V")


class _View(Generic[V]):
    """A read-only mapping over the register, for decisions written against dicts."""

    def __init__(self, find: Callable[[str], V | None],
                 forget: Callable[[str], None] | None = None) -> None:
        self._find = find
        self._forget = forget

    def __delitem__(self, key: str) -> None:
        """Drop an entry from the cache (the law's tests: a key stored under another name)."""
        if self._forget is None or self._find(key) is None:
            raise KeyError(key)
        self._forget(key)

    def get(self, key: str, default: V | None = None) -> V | None:
        found = self._find(key)
        return default if found is None else found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) is not None

    def __getitem__(self, key: str) -> V:
        found = self._find(key)
        if found is None:
            raise KeyError(key)
        return found


class Register:
    """The writer's bounded view of the register. Without a `source` it holds only what was
    applied to it (and evicts nothing): the law's tests use it so, with no database."""

    def __init__(self, source: StateSource | None = None, position: int = 0, *,
                 max_events: int = CACHE_EVENTS, max_postings: int = CACHE_POSTINGS) -> None:
        self._source = source
        self.position = position  # the last position folded in (or known to be indexed)
        self.max_events = max_events
        self.max_postings = max_postings
        self._answers: OrderedDict[str, _Answer] = OrderedDict()
        self._timelines: OrderedDict[str, PatentTimeline] = OrderedDict()
        self._held = 0  # the cached timelines' weights, as of the last `settle`
        self._weights: dict[str, int] = {}
        self._touched: set[str] = set()  # timelines loaded or changed in this group
        self._versions: OrderedDict[UUID, int] = OrderedDict()
        self._absent_keys: set[str] = set()  # looked up in this group, not in the log
        self._absent_numbers: set[str] = set()
        self._sequence = 0
        self._departed: list[tuple[str, int, int, bytes]] = []  # snapshots not yet written
        self.loads = 0  # round trips to the state tables (metrics, tests)
        self.snapshots_read = 0  # patents loaded from a snapshot (metrics, tests)
        self.snapshots_kept = 0  # snapshots taken of patents let go (metrics, tests)
        self.parties: _View[ev.PartyRegistered] = _View(self._party)
        self.deals: _View[ev.DealEvent] = _View(self._deal)
        self.listings: _View[ev.PartyListed] = _View(self._listing)
        self.posted: _View[Posted] = _View(self._posted, self._forget_answer)
        self.patents: _View[PatentTimeline] = _View(self._timeline)
        # issue 17 (credit): the event that answered any key (a subsidy, its recoveries)
        self.answered: _View[ev.LedgerEvent] = _View(self._answered_event)

    # --- what the cache holds -----------------------------------------------------------

    @property
    def cached_events(self) -> int:
        """What the cached timelines weigh (events, or a compacted state's records), as of
        the last group's end."""
        return self._held

    @property
    def cached_postings(self) -> int:
        return len(self._answers)

    def prefetch(self, keys: Iterable[str], numbers: Iterable[str]) -> None:
        """Load, in one round trip, the answers and patents not cached; then, in a second,
        the patents of the deals just loaded that a reference will need."""
        if self._source is None:
            return
        answers, timelines = self._answers, self._timelines
        wanted, patents = set(), set()
        for key in keys:  # recency is noted here, once a group, not on every lookup
            if key in answers:
                answers.move_to_end(key)
            elif key not in self._absent_keys:
                wanted.add(key)
        for number in numbers:
            if number in timelines:
                timelines.move_to_end(number)
            elif number not in self._absent_numbers:
                patents.add(number)
        self._load(wanted, patents)
        referenced = {n for k in wanted if k.startswith("deal:") and k in self._answers
                      for n in self._answers[k].posted.patents}
        self._load(set(), {n for n in referenced
                           if n not in self._timelines and n not in self._absent_numbers})

    def settle(self) -> None:
        """After a group: forget what was looked up and found absent, and trim the cache to
        its bounds, least recently used first."""
        self._absent_keys.clear()
        self._absent_numbers.clear()
        if self._source is None:
            return
        for number in self._touched:
            timeline = self._timelines.get(number)
            if timeline is None:
                continue
            timeline.compact()  # its events are in the tables: a backdated deal reloads them
            if timeline.unsaved >= snapshots.REFRESH_AFTER:  # kept long: its snapshot, anew
                self._keep_snapshot(timeline)
            weight = timeline.weight
            self._held += weight - self._weights.get(number, 0)
            self._weights[number] = weight
        self._touched.clear()
        while self._held > self.max_events and self._timelines:
            number, timeline = self._timelines.popitem(last=False)
            self._held -= self._weights.pop(number, 0)
            self._let_go(timeline)
        while len(self._answers) > self.max_postings:
            self._answers.popitem(last=False)
        while len(self._versions) > CACHE_STREAMS:
            self._versions.popitem(last=False)

    def _let_go(self, timeline: PatentTimeline) -> None:
        """A patent leaves the cache: when it folded enough events since the tables' last
        snapshot of it, keep its state for the next group to write (ledger/storage/snapshots),
        so loading it again costs one row instead of its history."""
        if timeline.unsaved >= snapshots.SNAPSHOT_AFTER:
            self._keep_snapshot(timeline)

    def _keep_snapshot(self, timeline: PatentTimeline) -> None:
        """Take the patent's state as of `position` for the next group to write. A popular
        patent may stay cached for the life of the process: taken again every REFRESH_AFTER
        events, its snapshot stays recent, so loading it after a restart folds a few events
        on one row instead of decoding thousands (a burst that leaves the heap larger)."""
        if len(self._departed) >= snapshots.MAX_PENDING:
            return
        version = self._versions.get(ev.stream_id("patent", timeline.number), 0)
        self.snapshots_kept += 1
        self._departed.append((timeline.number, self.position, version, snapshots.dump(
            Snapshot(timeline.number, self.position, version, timeline.registered,
                     timeline.current(), timeline.latest))))
        timeline.unsaved = 0

    def departed(self) -> list[tuple[str, int, int, bytes]]:
        """The snapshots of the patents let go since the last call, for the writer to write
        with its next group (rows of `ledger/storage/snapshots.send_snapshots`)."""
        taken, self._departed = self._departed, []
        return taken

    # --- lookups -------------------------------------------------------------------------

    def _answer(self, key: str) -> _Answer | None:
        found = self._answers.get(key)
        if found is not None:
            return found
        if self._source is None or key in self._absent_keys:
            return None
        self._load({key}, set())
        return self._answers.get(key)

    def _forget_answer(self, key: str) -> None:
        del self._answers[key]

    def _posted(self, key: str) -> Posted | None:
        found = self._answer(key)
        return None if found is None else found.posted

    def _answered_event(self, key: str) -> ev.LedgerEvent | None:
        found = self._answer(key)
        return None if found is None else found.event

    def _party(self, party_id: str) -> ev.PartyRegistered | None:
        found = self._answer(party_key(party_id))
        return found.event if found is not None and isinstance(
            found.event, ev.PartyRegistered) else None

    def _deal(self, deal_id: str) -> ev.DealEvent | None:
        found = self._answer(deal_key(deal_id))
        return found.event if found is not None and isinstance(
            found.event, ev.DealEvent) else None

    def _listing(self, listing_id: str) -> ev.PartyListed | None:
        found = self._answer(listing_key(listing_id))
        return found.event if found is not None and isinstance(
            found.event, ev.PartyListed) else None

    def _timeline(self, number: str) -> PatentTimeline | None:
        found = self._timelines.get(number)
        if found is not None:
            return found
        if self._source is None or number in self._absent_numbers:
            return None
        self._load(set(), {number})
        return self._timelines.get(number)

    def _load(self, keys: set[str], numbers: set[str], whole: bool = False) -> None:
        if self._source is None or not (keys or numbers):
            return
        self.loads += 1
        answers, timelines, found = self._source.load(keys, numbers, whole)
        for key in keys:
            stored = answers.get(key)
            if stored is None:
                self._absent_keys.add(key)
            else:
                position, event = stored
                self._answers[key] = _Answer(posted_for(key, event, position), event)
        backdated: set[str] = set()
        for number in numbers:
            events = timelines.get(number) or []
            snapshot = found.get(number)
            timeline = (_from_events(events) if snapshot is None
                        else _from_snapshot(snapshot, events))
            if timeline is None:
                if snapshot is None:
                    self._absent_numbers.add(number)
                else:  # an event filed after the snapshot is dated before its state
                    backdated.add(number)
                continue
            self._timelines[number] = timeline
            self._touched.add(number)
            self.snapshots_read += snapshot is not None
            stream = ev.stream_id("patent", number)
            version = max((e.originator_version for _, e in events
                           if e.originator_id == stream), default=0)
            if snapshot is not None:
                version = max(version, snapshot.version)
            if version:  # else unknown: `next_version` asks the tables
                self._versions[stream] = version
        self._load(set(), backdated, whole=True)

    def whole(self, number: str) -> PatentTimeline | None:
        """The patent's timeline with every event (loaded again if compacted)."""
        timeline = self._timeline(number)
        if timeline is None or timeline.complete:
            return timeline
        return self._reload(number, timeline.pending)

    def _reload(self, number: str, pending: list[ev.LedgerEvent]) -> PatentTimeline:
        """The patent's stored events from the tables, then `pending` (this group's own,
        not stored yet) placed again in order on top."""
        self._timelines.pop(number, None)
        self._load(set(), {number}, whole=True)
        timeline = self._timelines[number]
        for event in pending:
            self._sequence = max(self._sequence, self.position) + 1
            timeline.place(event, self._sequence)
        return timeline

    def next_version(self, stream: UUID) -> int:
        version = self._versions.get(stream)
        if version is None:
            version = self._source.stream_version(stream) if self._source is not None else 0
            self._versions[stream] = version
        return version + 1

    # --- judging -------------------------------------------------------------------------

    def judge(self, event: ev.LedgerEvent) -> Refusal | None:
        """The first refusal over every patent the event touches (all or nothing)."""
        if isinstance(event, ev.PatentRegistered):
            existing = self.patents.get(event.number)
            return None if existing is None else check(existing.current(), event)
        for number in patents_of(event):
            timeline = self.patents[number]
            if not timeline.complete and timeline.backdated(event.effective_on):
                timeline = self._reload(number, timeline.pending)  # the past is needed
            refusal = timeline.judge(event)
            if refusal is not None:
                return refusal
        return None

    # --- changes -------------------------------------------------------------------------

    def apply(self, event: ev.LedgerEvent, position: int = 0) -> None:
        """Fold an event in. `position` 0: this writer's own, accepted and not yet stored
        (its patents are cached, since it was judged). Otherwise another process stored it:
        what is cached is brought up to date, and the rest is left to the tables."""
        if position:
            self._apply_stored(event, position)
            return
        self._sequence = max(self._sequence, self.position) + 1
        key = posting_key(event)
        if key is not None:
            self._absent_keys.discard(key)
            self._answers[key] = _Answer(posted_for(key, event, 0), event)
        if isinstance(event, ev.PatentRegistered):
            self._absent_numbers.discard(event.number)
            self._timelines[event.number] = PatentTimeline(event)
            self._touched.add(event.number)
        else:
            for number in patents_of(event):
                timeline = self._timelines.get(number) or self.patents[number]
                timeline.place(event, self._sequence)
                self._touched.add(number)
        if not isinstance(event, ev.DealEvent):  # deals' own streams never grow
            self._versions[event.originator_id] = event.originator_version

    def _apply_stored(self, event: ev.LedgerEvent, position: int) -> None:
        self.position = max(self.position, position)
        key = posting_key(event)
        if key is not None:
            self._absent_keys.discard(key)
            if self._source is None:
                self._answers[key] = _Answer(posted_for(key, event, position), event)
        if isinstance(event, ev.PatentRegistered):
            self._absent_numbers.discard(event.number)
            if self._source is None:
                self._timelines[event.number] = PatentTimeline(event)
        else:
            for number in patents_of(event):
                timeline = self._timelines.get(number)
                if timeline is None:
                    continue
                if not timeline.complete and timeline.backdated(event.effective_on):
                    self._drop(number)  # the tables have it; loaded whole when next named
                    continue
                timeline.place(event, position)
                self._touched.add(number)
        if event.originator_id in self._versions:
            self._versions[event.originator_id] = max(self._versions[event.originator_id],
                                                      event.originator_version)

    def _drop(self, number: str) -> None:
        self._timelines.pop(number, None)
        self._held -= self._weights.pop(number, 0)
        self._touched.discard(number)

    def confirm(self, event: ev.LedgerEvent, position: int) -> Posted | None:
        """Record the position the store gave an event applied before it was saved; the
        answer now standing for its idempotency key, if it has one."""
        if position > self.position:
            self.position = position
        key = posting_key(event)
        if key is None:
            return None
        first = self._answers.get(key)
        if first is None:  # trimmed already (a group larger than the cache): from the event
            return posted_for(key, event, position)
        confirmed = first.posted._replace(position=position)  # answers stay frozen otherwise
        self._answers[key] = _Answer(confirmed, event)
        return confirmed

    def retract(self, event: ev.LedgerEvent) -> None:
        """Undo `apply` for one of this writer's events whose posting was taken back."""
        key = posting_key(event)
        if key is not None:
            self._answers.pop(key, None)
            self._absent_keys.add(key)
        if isinstance(event, ev.PatentRegistered):
            self._drop(event.number)
            self._absent_numbers.add(event.number)
        else:
            for number in patents_of(event):
                timeline = self._timelines[number]
                if timeline.complete:
                    timeline.retract(event)
                else:  # compacted: the stored events, and this group's others again
                    self._reload(number, [e for e in timeline.pending if e is not event])
                self._touched.add(number)
        if not isinstance(event, ev.DealEvent):
            if event.originator_version > 1:
                self._versions[event.originator_id] = event.originator_version - 1
            else:
                self._versions[event.originator_id] = 0
