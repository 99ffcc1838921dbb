"""Projection "audit": an index of every event by kind, deal, dates, patent and party, and the
facts of each deal that the indicators K1..K10 count (`projections/deal_facts.py`).

The event's content stays in the log (`ledger_events`); this index only says where to look,
so history pages and time travel read a patent's or party's events with one range scan.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.law import events as ev
from projections.deal_facts import COLUMNS as FACT_COLUMNS
from projections.deal_facts import FollowsPartyTraits
from projections.event_facts import (
    deal_id_of,
    intermediaries_of,
    kind_of,
    parties_of,
    patents_of,
)

Batch = list[tuple[int, ev.LedgerEvent]]


class AuditProjection(FollowsPartyTraits):
    name: str = "audit"
    tables: tuple[str, ...] = ("rm_events", "rm_event_patents", "rm_event_parties",
                               "rm_deal_facts", "rm_audit_party_traits",
                               "rm_audit_open_offers",
                               "rm_event_intermediaries")  # issue 19
    traits_table = "rm_audit_party_traits"
    offers_table = "rm_audit_open_offers"

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        def copy_into(table: str, columns: str) -> AbstractContextManager[psycopg.Copy]:
            return cur.copy(SQL("COPY {} (" + columns + ") FROM STDIN").format(
                Identifier(table + suffix)))

        with copy_into("rm_events", "position, kind, deal_id, effective_on, recorded_at"
                       ) as copy:
            for position, event in batch:
                copy.write_row((position, kind_of(event), deal_id_of(event),
                                event.effective_on, event.timestamp))
        with copy_into("rm_event_patents", "number, position") as copy:
            for position, event in batch:
                for number in patents_of(event):
                    copy.write_row((number, position))
        with copy_into("rm_event_parties", "party, position") as copy:
            for position, event in batch:
                for party in parties_of(event):
                    copy.write_row((party, position))
        with copy_into("rm_event_intermediaries", "party, role, position") as copy:
            for position, event in batch:  # issue 19: who arranged each deal
                if isinstance(event, ev.DealEvent):
                    for role, party in intermediaries_of(event).items():
                        copy.write_row((party, role, position))
        facts = self.deal_rows(cur, batch, suffix)
        with copy_into("rm_deal_facts", ", ".join(FACT_COLUMNS)) as copy:
            for row in facts:
                copy.write_row(row)
