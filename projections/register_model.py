"""Projection "register": parties, patents, owners, licences, open licences and pledges now.

The rows it writes always come from the ledger's own fold (`Folding`). It keeps the folds of
the patents it touched last in a cache bounded in bytes (`CACHE_BYTES`), never the whole log: an
event that arrives in effective-date order is applied to its patent's cached fold and marks
only what it changed (one licence, one pledge, the owner set...), so only those rows are
rewritten. A backdated event can change anything after its date: that patent's events are
read back from the log (through `rm_register_patent_events`, this projection's index of
which events are a patent's), folded again in date order and all its rows rewritten. A patent
the cache dropped is read back the same way when an event next touches it, one statement per
batch for all of them. Nothing is folded at start.

A cached fold keeps no licences (`_shed`): once a licence's row is written, `rm_licences`
holds it, and an in-order termination reads that one row back (`_licences`). So a popular
patent costs the cache what its owners and pledges cost, not the thousands of licences a
long log gives it, and the cache's memory does not grow with the log.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from ledger.law import events as ev
from ledger.law import patent_state as ps
from projections.copy_text import array
from projections.event_facts import patents_of
from projections.log_events import Lru, Reads, decode
from projections.patent_view import Folding

Batch = list[tuple[int, ev.LedgerEvent]]
Row = tuple[Any, ...]

COLUMNS = {
    "rm_parties": ("id", "name", "kind", "size", "state_owned", "region", "founded_on",
                   "related_to", "position"),
    "rm_patents": ("number", "kind", "title", "status", "preserved", "dispute_suspended",
                   "filed_on", "granted_on", "expires_on", "invalidation_pending"),
    "rm_owners": ("number", "party", "share", "positions"),
    "rm_open_licences": ("number", "deal_id", "fee", "starts_on", "ends_on", "withdrawn_on",
                         "positions"),
    "rm_licences": ("number", "deal_id", "licensors", "licensee", "licence_kind", "territory",
                    "field", "starts_on", "ends_on", "fee", "sublicensable", "parent_licence",
                    "open_licence", "terminated_on", "positions"),
    "rm_pledges": ("number", "deal_id", "pledgors", "pledgee", "secured_amount", "currency",
                   "due_on", "registered_on", "status", "defaulted_on", "outstanding",
                   "ended_on", "position", "positions"),
}
INDEX = "rm_register_patent_events"  # (number, position): every event of every patent
MIB = 1 << 20
CACHE_BYTES = 8 * MIB  # what the folds kept between batches may weigh (README limits)
FOLD_BYTES = 2_000  # a kept fold, its licences shed (tracemalloc, tests/test_cache_weights.py)
PLEDGE_BYTES = 700  # each pledge it keeps, released ones included
RELOAD_PAGE = 2_000  # events read at a time when folding patents the cache dropped
WHOLE = ("rm_patents", "rm_owners", "rm_open_licences")  # rewritten per patent
BY_DEAL = ("rm_licences", "rm_pledges")  # rewritten per (patent, deal)


class _Changes:
    """What a batch changed: whole parts of patents, and single licences or pledges."""

    def __init__(self) -> None:
        self.whole: dict[str, set[str]] = defaultdict(set)  # table -> numbers
        self.deals: dict[str, set[tuple[str, str]]] = defaultdict(set)  # table -> (number, deal)

    def everything(self, number: str, fold: Folding) -> None:
        for table in WHOLE:
            self.whole[table].add(number)
        self.deals["rm_licences"].update((number, d) for d in fold.state.licences)
        self.deals["rm_pledges"].update((number, d) for d in fold.state.pledges)

    def event(self, number: str, event: ev.LedgerEvent, fold: Folding) -> None:
        match event:
            case ev.PatentStatusChanged():
                self.whole["rm_patents"].add(number)
                if ps.ends_the_patent(event):  # INV-12: pledges lose their collateral
                    self.deals["rm_pledges"].update((number, d) for d in fold.state.pledges)
            case ev.PatentTermExtended():  # issue 17: the expiry moves
                self.whole["rm_patents"].add(number)
            case ev.OwnershipTransferred() | ev.EquityContributed():
                self.whole["rm_owners"].add(number)
            case ev.PledgeDisposed():
                self.whole["rm_owners"].add(number)
                self.deals["rm_pledges"].add((number, event.pledge))
                if event.licensee is not None:  # issue 19: a disposal that licenses
                    self.deals["rm_licences"].add((number, event.deal_id))
            case ev.LicenceGranted() | ev.OpenLicenceTaken():
                self.deals["rm_licences"].add((number, event.deal_id))
            case ev.LicenceTerminated():
                self.deals["rm_licences"].add((number, event.licence))
            case ev.OpenLicenceDeclared() | ev.OpenLicenceWithdrawn():
                self.whole["rm_open_licences"].add(number)
            case ev.PledgeRegistered():
                self.deals["rm_pledges"].add((number, event.deal_id))
            case ev.PledgeReleased() | ev.LoanDefaulted() | ev.PledgeChanged():  # 19: changes
                self.deals["rm_pledges"].add((number, event.pledge))


@dataclass(slots=True)
class _Fold:
    """A patent's fold after all its events, and the latest (effective date, position) among
    them after its registration: an event after it comes in date order."""

    folding: Folding
    last: tuple[date, int] | None


def weight(fold: _Fold) -> int:
    """About what a kept fold costs in bytes: its licences are shed before it is kept."""
    return FOLD_BYTES + PLEDGE_BYTES * len(fold.folding.state.pledges)


def _shed(fold: _Fold) -> _Fold:
    """Let go of what the rows already hold and only a refold needs: the licences (their
    records, evidence and fees) and the list of every event's position."""
    folding = fold.folding
    folding.state.licences.clear()
    folding.state.exclusive_or_sole.clear()
    folding.licence_positions.clear()
    folding.licence_fees.clear()
    folding.positions.clear()
    return fold


def _licence_from_row(row: Row) -> tuple[ps.LicenceRecord, list[int], dict[str, Any]]:
    """A licence as its row in `rm_licences` holds it, for a fold that shed it. Who owned the
    patent at its grant (INV-14) is the writer's concern and is not kept here."""
    (deal_id, licensors, licensee, kind, territory, field_, starts_on, ends_on, fee,
     sublicensable, parent, open_licence, terminated_on, positions) = row
    record = ps.LicenceRecord(deal_id, tuple(licensors), licensee, kind, territory, field_,
                              starts_on, ends_on, sublicensable, parent, frozenset(),
                              open_licence, terminated_on)
    return record, list(positions), fee


def _fold(events: list[tuple[int, ev.LedgerEvent]]) -> _Fold:
    """Fold a patent's events (its registration among them) in effective-date order."""
    registered = [(p, e) for p, e in events if isinstance(e, ev.PatentRegistered)]
    if len(registered) != 1:
        raise RuntimeError(f"a patent's events hold {len(registered)} registrations")
    position, event = registered[0]
    assert isinstance(event, ev.PatentRegistered)
    folding = Folding.start(event, position)
    rest = sorted(((e.effective_on, p), e) for p, e in events if p != position)
    for (_, later), later_event in rest:
        folding.step(later, later_event)
    return _Fold(folding, rest[-1][0] if rest else None)


class RegisterProjection:
    name: str = "register"
    tables: tuple[str, ...] = ("rm_parties", *WHOLE, *BY_DEAL, INDEX)

    def __init__(self, cache_bytes: int | None = None) -> None:
        self.folds: Lru[str, _Fold] = Lru(cache_bytes or CACHE_BYTES, weight)

    def reset(self) -> None:
        """Forget the cached folds (after a failed batch or a rebuild): the tables hold it all."""
        self.folds.clear()

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        parties: dict[str, Row] = {}
        changes = _Changes()
        rewrite_all: set[str] = set()
        arrived: dict[str, list[tuple[int, ev.LedgerEvent]]] = defaultdict(list)  # this batch's
        refold: set[str] = set()  # backdated: folded again from the log at the end
        index: list[tuple[str, int]] = []
        loaded = self._load(cur, batch, suffix)  # folds of the patents the cache dropped
        shed = self._licences(cur, batch, suffix)  # licences a termination names
        folds: dict[str, _Fold] = {}
        for position, event in batch:
            if isinstance(event, ev.PartyRegistered):
                parties[event.party_id] = _party_row(position, event)
                continue
            if isinstance(event, ev.PatentRegistered):
                folds[event.number] = _Fold(Folding.start(event, position), None)
                arrived[event.number].append((position, event))
                index.append((event.number, position))
                rewrite_all.add(event.number)  # a new patent: all of it
                continue
            for number in patents_of(event):
                index.append((number, position))
                arrived[number].append((position, event))
                if number in refold:
                    continue
                fold = (folds.get(number) or self.folds.get(number) or loaded.get(number)
                        or _fold([]))  # (no registration: refused by _fold, as any such log)
                folds[number] = fold
                key = (event.effective_on, position)
                in_order = fold.last is None or key >= fold.last
                if in_order and isinstance(event, ev.LicenceTerminated):
                    _restore(fold.folding, shed.get((number, event.licence)))
                    # no row to put back: fold the patent again from the log
                    in_order = event.licence in fold.folding.state.licences
                if in_order:
                    fold.folding.step(position, event)
                    fold.last = key
                    if number not in rewrite_all:
                        changes.event(number, event, fold.folding)
                else:  # backdated: fold this patent again from its events in the log
                    refold.add(number)
                    rewrite_all.add(number)
        if refold:
            events_of = self._events_of(cur, sorted(refold), suffix)
            for number in refold:
                folds[number] = _fold([*events_of[number], *arrived[number]])
        for number, fold in folds.items():
            self.folds.put(number, fold)
        for number in rewrite_all:
            changes.everything(number, folds[number].folding)
        if parties:
            _replace(cur, "rm_parties" + suffix, "DELETE FROM {} WHERE id = ANY(%s)",
                     (list(parties),), COLUMNS["rm_parties"], parties.values())
        for table in WHOLE:
            numbers = sorted(changes.whole[table])
            if numbers:
                rows = [row for n in numbers for row in _rows(table, folds[n].folding, n)]
                _replace(cur, table + suffix, "DELETE FROM {} WHERE number = ANY(%s)",
                         (numbers,), COLUMNS[table], rows)
        for table in BY_DEAL:
            keys = sorted(changes.deals[table])
            if keys:
                rows = [_deal_row(table, folds[n].folding, n, d) for n, d in keys]
                _replace(cur, table + suffix,
                         "DELETE FROM {} WHERE (number, deal_id) IN "
                         "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                         ([n for n, _ in keys], [d for _, d in keys]), COLUMNS[table], rows)
        if index:
            with cur.copy(SQL("COPY {} (number, position) FROM STDIN").format(
                    Identifier(INDEX + suffix))) as copy:
                for row in index:
                    copy.write_row(row)
        for fold in folds.values():
            _shed(fold)
        self.folds.trim()

    def _licences(self, cur: psycopg.Cursor, batch: Batch, suffix: str
                  ) -> dict[tuple[str, str], Row]:
        """The rows of the licences this batch's terminations name, in one statement: every
        fold, cached or read back from the log, has shed its licences. A licence granted
        earlier in the same batch is in its fold already."""
        keys = sorted({(number, e.licence) for _, e in batch
                       if isinstance(e, ev.LicenceTerminated) for number in patents_of(e)})
        if not keys:
            return {}
        columns = SQL(", ").join(Identifier(c) for c in COLUMNS["rm_licences"][1:])
        cur.execute(SQL("SELECT number, {} FROM {} WHERE (number, deal_id) IN"
                        " (SELECT * FROM unnest(%s::text[], %s::text[]))").format(
                            columns, Identifier("rm_licences" + suffix)),
                    ([n for n, _ in keys], [d for _, d in keys]))
        return {(row[0], row[1]): row[1:] for row in cur.fetchall()}

    def _load(self, cur: psycopg.Cursor, batch: Batch, suffix: str) -> dict[str, _Fold]:
        """The fold of every patent the batch touches that the cache dropped (registered
        before this batch), from its events in the log, in one statement read in pages: each
        patent's events are folded as soon as they have all arrived and then let go, so what
        a batch holds is its folds, not the histories behind them. A fresh projector's first
        batches name thousands of patents, popular ones with thousands of events each; read
        whole, they held hundreds of megabytes at once. Each fold sheds its licences as soon as
        it is made (their rows hold them): kept until the batch's end, the popular patents'
        licences were the projector's high-water mark, and it grew with the log."""
        new = {e.number for _, e in batch if isinstance(e, ev.PatentRegistered)}
        wanted = sorted({n for _, e in batch if not isinstance(e, ev.PatentRegistered)
                         for n in patents_of(e) if n not in new and n not in self.folds})
        folds: dict[str, _Fold] = {}
        if not wanted:
            return folds
        with cur.connection.cursor(name="register_reload") as rows:
            rows.itersize = RELOAD_PAGE
            rows.execute(SQL(
                "SELECT x.number, l.notification_id, l.originator_id, l.originator_version,"
                " l.topic, l.state FROM {} x"
                " JOIN ledger_events l ON l.notification_id = x.position"
                " WHERE x.number = ANY(%s) ORDER BY x.number, x.position").format(
                    Identifier(INDEX + suffix)), (wanted,))
            number: str | None = None
            events: list[tuple[int, ev.LedgerEvent]] = []
            read = 0
            for row_number, position, *stored in rows:
                if row_number != number:
                    if number is not None:
                        folds[number] = _shed(_fold(events))
                    number, events = row_number, []
                events.append((position, decode(*stored)))
                read += 1
            if number is not None:
                folds[number] = _shed(_fold(events))
        Reads.events += read
        Reads.statements += 1
        return folds

    def _events_of(self, cur: psycopg.Cursor, numbers: list[str], suffix: str
                   ) -> dict[str, list[tuple[int, ev.LedgerEvent]]]:
        found: dict[str, list[tuple[int, ev.LedgerEvent]]] = {n: [] for n in numbers}
        if not numbers:
            return found
        cur.execute(SQL(
            "SELECT x.number, l.notification_id, l.originator_id, l.originator_version,"
            " l.topic, l.state FROM {} x JOIN ledger_events l ON l.notification_id = x.position"
            " WHERE x.number = ANY(%s) ORDER BY x.number, x.position").format(
                Identifier(INDEX + suffix)), (numbers,))
        rows = cur.fetchall()
        for number, position, *stored in rows:
            found[number].append((position, decode(*stored)))
        Reads.events += len(rows)
        Reads.statements += 1
        return found


def _restore(folding: Folding, row: Row | None) -> None:
    """Put back a licence the cached fold shed, from its row, before its termination is
    folded in. Without a row (granted in this batch, or never shed) nothing changes."""
    if row is None or row[0] in folding.state.licences:
        return
    record, positions, fee = _licence_from_row(row)
    folding.state.licences[record.deal_id] = record
    if record.kind != "ordinary":
        folding.state.exclusive_or_sole[record.deal_id] = record
    folding.licence_positions[record.deal_id] = positions
    folding.licence_fees[record.deal_id] = fee


def _replace(cur: psycopg.Cursor, table: str, delete: str, keys: tuple[Any, ...],
             columns: tuple[str, ...], rows: Any) -> None:
    """Delete the changed rows, then copy their new versions in."""
    name = Identifier(table)
    cur.execute(SQL(delete).format(name), keys)
    fields = SQL(", ").join(Identifier(c) for c in columns)
    with cur.copy(SQL("COPY {} ({}) FROM STDIN").format(name, fields)) as copy:
        for row in rows:
            copy.write_row(row)


def _party_row(position: int, event: ev.PartyRegistered) -> Row:
    return (event.party_id, event.name, event.party_kind, event.size, event.state_owned,
            event.region, event.founded_on, array(event.related_to), position)


def _rows(table: str, fold: Folding, number: str) -> list[Row]:
    if table == "rm_patents":
        h = fold.head()
        return [(h.number, h.kind, h.title, h.status, h.preserved, h.dispute_suspended,
                 h.filed_on, h.granted_on, h.expires_on, h.invalidation_pending)]
    if table == "rm_owners":
        return [(number, o.party, o.share, array(o.positions)) for o in fold.owners()]
    opened = fold.open_licence()
    if opened is None:
        return []
    return [(number, opened.deal_id, Jsonb(opened.fee), opened.starts_on, opened.ends_on,
             opened.withdrawn_on, array(opened.positions))]


def _deal_row(table: str, fold: Folding, number: str, deal_id: str) -> Row:
    if table == "rm_licences":
        lic = fold.licence(deal_id)
        return (number, lic.deal_id, array(lic.licensors), lic.licensee, lic.licence_kind,
                lic.territory, lic.field, lic.starts_on, lic.ends_on, Jsonb(lic.fee),
                lic.sublicensable, lic.parent_licence, lic.open_licence, lic.terminated_on,
                array(lic.positions))
    p = fold.pledge(deal_id)
    secured = p.secured_amount
    return (number, p.deal_id, array(p.pledgors), p.pledgee,
            None if secured is None else secured.amount,
            None if secured is None else secured.currency, p.due_on, p.registered_on, p.status, p.defaulted_on,
            None if p.outstanding is None else p.outstanding.amount, p.ended_on, p.position,
            array(p.positions))
