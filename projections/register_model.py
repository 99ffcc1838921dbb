"""Projection "register": parties, patents, owners, licences, open licences and pledges now.

It keeps each patent's events in memory (`PatentFold`), so the rows it writes always come from
the ledger's own fold. An event that arrives in effective-date order marks only what it changed
(one licence, one pledge, the owner set...) and only those rows are rewritten; a rewrite_all event
can change anything after its date, so that patent's rows are all rewritten. The memory is
rebuilt from the log at start (`warm`), up to the committed position.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from ledger import events as ev
from ledger import patent_state as ps
from projections.copy_text import array
from projections.event_facts import patents_of
from projections.patent_view import Folding, PatentFold

Batch = list[tuple[int, ev.LedgerEvent]]
Row = tuple[Any, ...]

COLUMNS = {
    "rm_parties": ("id", "name", "kind", "size", "state_owned", "region", "founded_on",
                   "related_to", "position"),
    "rm_patents": ("number", "kind", "title", "status", "preserved", "dispute_suspended",
                   "filed_on", "granted_on", "expires_on"),
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
                if event.status in ps.DEAD_STATUSES:  # INV-12: pledges lose their collateral
                    self.deals["rm_pledges"].update((number, d) for d in fold.state.pledges)
            case ev.OwnershipTransferred() | ev.EquityContributed():
                self.whole["rm_owners"].add(number)
            case ev.PledgeDisposed():
                self.whole["rm_owners"].add(number)
                self.deals["rm_pledges"].add((number, event.pledge))
            case ev.LicenceGranted() | ev.OpenLicenceTaken():
                self.deals["rm_licences"].add((number, event.deal_id))
            case ev.LicenceTerminated():
                self.deals["rm_licences"].add((number, event.licence))
            case ev.OpenLicenceDeclared() | ev.OpenLicenceWithdrawn():
                self.whole["rm_open_licences"].add(number)
            case ev.PledgeRegistered():
                self.deals["rm_pledges"].add((number, event.deal_id))
            case ev.PledgeReleased() | ev.LoanDefaulted():
                self.deals["rm_pledges"].add((number, event.pledge))


class RegisterProjection:
    name: str = "register"
    tables: tuple[str, ...] = ("rm_parties", *WHOLE, *BY_DEAL)

    def __init__(self) -> None:
        self.folds: dict[str, PatentFold] = {}

    def reset(self) -> None:
        self.folds = {}

    def warm(self, batch: Batch) -> None:
        for position, event in batch:
            if isinstance(event, ev.PatentRegistered):
                self.folds[event.number] = PatentFold(event, position)
            else:
                for number in patents_of(event):
                    self.folds[number].add(position, event)

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        parties: dict[str, Row] = {}
        changes = _Changes()
        rewrite_all: set[str] = set()
        for position, event in batch:
            if isinstance(event, ev.PartyRegistered):
                parties[event.party_id] = _party_row(position, event)
            elif isinstance(event, ev.PatentRegistered):
                self.folds[event.number] = PatentFold(event, position)
                rewrite_all.add(event.number)  # a new patent: all of it
            else:
                for number in patents_of(event):
                    fold = self.folds[number]
                    if fold.add(position, event) and number not in rewrite_all:
                        changes.event(number, event, fold.current())
                    else:
                        rewrite_all.add(number)
        for number in rewrite_all:
            changes.everything(number, self.folds[number].current())
        if parties:
            _replace(cur, "rm_parties" + suffix, "DELETE FROM {} WHERE id = ANY(%s)",
                     (list(parties),), COLUMNS["rm_parties"], parties.values())
        for table in WHOLE:
            numbers = sorted(changes.whole[table])
            if numbers:
                rows = [row for n in numbers for row in _rows(table, self.folds[n].current(), n)]
                _replace(cur, table + suffix, "DELETE FROM {} WHERE number = ANY(%s)",
                         (numbers,), COLUMNS[table], rows)
        for table in BY_DEAL:
            keys = sorted(changes.deals[table])
            if keys:
                rows = [_deal_row(table, self.folds[n].current(), n, d) for n, d in keys]
                _replace(cur, table + suffix,
                         "DELETE FROM {} WHERE (number, deal_id) IN "
                         "(SELECT * FROM unnest(%s::text[], %s::text[]))",
                         ([n for n, _ in keys], [d for _, d in keys]), COLUMNS[table], rows)


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
                 h.filed_on, h.granted_on, h.expires_on)]
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
