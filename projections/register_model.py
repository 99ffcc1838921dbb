"""Projection "register": parties, patents, owners, licences, open licences and pledges now.

It keeps each patent's events in memory (`PatentFold`), so a batch rewrites the rows of the
patents it touched from their fold, including after a backdated event that changes the past.
The memory is rebuilt from the log at start (`warm`), up to the committed position.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from ledger import events as ev
from projections.event_facts import patents_of
from projections.patent_view import PatentFold, PatentView

Batch = list[tuple[int, ev.LedgerEvent]]

_PATENT_TABLES = ("rm_patents", "rm_owners", "rm_licences", "rm_open_licences", "rm_pledges")
_COLUMNS = {
    "rm_patents": ("number", "kind", "title", "status", "preserved", "dispute_suspended",
                   "filed_on", "granted_on", "expires_on", "positions"),
    "rm_owners": ("number", "party", "share", "positions"),
    "rm_licences": ("number", "deal_id", "licensors", "licensee", "licence_kind", "territory",
                    "field", "starts_on", "ends_on", "fee", "sublicensable", "parent_licence",
                    "open_licence", "terminated_on", "positions"),
    "rm_open_licences": ("number", "deal_id", "fee", "starts_on", "ends_on", "withdrawn_on",
                         "positions"),
    "rm_pledges": ("number", "deal_id", "pledgors", "pledgee", "secured_amount", "currency",
                   "due_on", "registered_on", "status", "defaulted_on", "outstanding",
                   "ended_on", "position", "positions"),
}


class RegisterProjection:
    name: str = "register"
    tables: tuple[str, ...] = ("rm_parties", *_PATENT_TABLES)

    def __init__(self) -> None:
        self.folds: dict[str, PatentFold] = {}

    def reset(self) -> None:
        self.folds = {}

    def warm(self, batch: Batch) -> None:
        for position, event in batch:
            self._fold(position, event)

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        parties: dict[str, tuple[Any, ...]] = {}
        touched: set[str] = set()
        for position, event in batch:
            self._fold(position, event)
            if isinstance(event, ev.PartyRegistered):
                parties[event.party_id] = _party_row(position, event)
            touched.update(patents_of(event))
        if parties:
            self._replace(cur, "rm_parties", "id", list(parties), parties.values(), suffix)
        if touched:
            numbers = sorted(touched)
            views = [self.folds[n].view() for n in numbers]
            rows = _patent_rows(views)
            for table in _PATENT_TABLES:
                self._replace(cur, table, "number", numbers, rows[table], suffix)

    def _fold(self, position: int, event: ev.LedgerEvent) -> None:
        if isinstance(event, ev.PatentRegistered):
            self.folds[event.number] = PatentFold(event, position)
            return
        for number in patents_of(event):
            self.folds[number].add(position, event)

    @staticmethod
    def _replace(cur: psycopg.Cursor, table: str, key: str, keys: list[str],
                 rows: Iterable[tuple[Any, ...]], suffix: str) -> None:
        """Delete the rows of `keys`, then copy their new rows in (one statement each)."""
        name = Identifier(table + suffix)
        cur.execute(SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(name, Identifier(key)),
                    (keys,))
        columns = SQL(", ").join(Identifier(c) for c in _columns(table))
        with cur.copy(SQL("COPY {} ({}) FROM STDIN").format(name, columns)) as copy:
            for row in rows:
                copy.write_row(row)


def _columns(table: str) -> tuple[str, ...]:
    if table == "rm_parties":
        return ("id", "name", "kind", "size", "state_owned", "region", "founded_on",
                "related_to", "position")
    return _COLUMNS[table]


def _party_row(position: int, event: ev.PartyRegistered) -> tuple[Any, ...]:
    return (event.party_id, event.name, event.party_kind, event.size, event.state_owned,
            event.region, event.founded_on, list(event.related_to), position)


def _patent_rows(views: list[PatentView]) -> dict[str, list[tuple[Any, ...]]]:
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in _PATENT_TABLES}
    for v in views:
        rows["rm_patents"].append((v.number, v.kind, v.title, v.status, v.preserved,
                                   v.dispute_suspended, v.filed_on, v.granted_on,
                                   v.expires_on, list(v.positions)))
        for o in v.owners:
            rows["rm_owners"].append((v.number, o.party, o.share, list(o.positions)))
        for lic in v.licences:
            rows["rm_licences"].append((
                v.number, lic.deal_id, list(lic.licensors), lic.licensee, lic.licence_kind,
                lic.territory, lic.field, lic.starts_on, lic.ends_on, Jsonb(lic.fee),
                lic.sublicensable, lic.parent_licence, lic.open_licence, lic.terminated_on,
                list(lic.positions)))
        if v.open_licence is not None:
            o_l = v.open_licence
            rows["rm_open_licences"].append((v.number, o_l.deal_id, Jsonb(o_l.fee), o_l.starts_on,
                                             o_l.ends_on, o_l.withdrawn_on, list(o_l.positions)))
        for p in v.pledges:
            rows["rm_pledges"].append((
                v.number, p.deal_id, list(p.pledgors), p.pledgee, p.secured_amount.amount,
                p.secured_amount.currency, p.due_on, p.registered_on, p.status, p.defaulted_on,
                None if p.outstanding is None else p.outstanding.amount, p.ended_on,
                p.position, list(p.positions)))
    return rows
