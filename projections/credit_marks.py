"""The log's own marks on a party's credit (domain.md section 7), and regulators' listings.

Late licence filings (INV-13) mark the licensors with grade B; a loan default (INV-11) marks
the pledgors with grade C until the pledge is released or disposed. Listings are kept with
their term and any early end. Grades are computed from these rows, the anomaly flags and the
findings when asked (`projections/credit.py`), so any date can be asked.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.law import events as ev
from projections.anomaly_facts import AnomalyFacts
from projections.copy_text import array

MARK_COLUMNS = ("mark_id", "party", "rule", "grade", "detail", "starts_on", "ends_on",
                "evidence")
LISTING_COLUMNS = ("listing_id", "party", "list", "grounds", "starts_on", "ends_on",
                   "position")


class CreditRows:
    """What one batch adds: new marks and listings, and the ends of earlier ones."""

    def __init__(self) -> None:
        self.marks: list[tuple[Any, ...]] = []
        self.mark_ends: list[tuple[str, Any, int]] = []  # (mark id prefix, day, position)
        self.listings: list[tuple[Any, ...]] = []
        self.delistings: list[tuple[str, Any, int]] = []

    def add(self, position: int, event: ev.LedgerEvent, facts: AnomalyFacts) -> None:
        match event:
            case ev.LicenceGranted() if event.late:
                for party in event.licensors:
                    self.marks.append((
                        f"INV-13:{event.deal_id}:{party}", party, "INV-13", "B",
                        f"licence {event.deal_id} took effect on {event.effective_on} and was "
                        f"filed on {event.filed_on}, more than 3 months later",
                        event.filed_on, None, array([position])))
            case ev.LoanDefaulted():
                _, pledged = facts.deals[event.pledge]
                for party in getattr(pledged, "pledgors", ()):
                    self.marks.append((
                        f"INV-11:{event.pledge}:{party}", party, "INV-11", "C",
                        f"the loan secured by pledge {event.pledge} is in default "
                        f"({event.outstanding.amount} {event.outstanding.currency} outstanding)",
                        event.effective_on, None, array([position])))
            case ev.PledgeReleased() | ev.PledgeDisposed():
                self.mark_ends.append((f"INV-11:{event.pledge}:", event.effective_on, position))
            case ev.PartyListed():
                self.listings.append((event.listing_id, event.party, event.credit_list,
                                      event.grounds, event.starts_on, event.ends_on, position))
            case ev.PartyDelisted():
                self.delistings.append((event.listing_id, event.effective_on, position))

    def write(self, cur: psycopg.Cursor, suffix: str) -> None:
        marks, listings = Identifier("rm_credit_marks" + suffix), Identifier("rm_listings" + suffix)
        if self.marks:
            with cur.copy(SQL("COPY {} ({}) FROM STDIN").format(
                    marks, SQL(", ").join(map(Identifier, MARK_COLUMNS)))) as copy:
                for row in self.marks:
                    copy.write_row(row)
        for prefix, day, position in self.mark_ends:  # resolved defaults: few per batch
            cur.execute(SQL("UPDATE {} SET ends_on = %s, evidence = evidence || %s::bigint"
                            " WHERE mark_id LIKE %s AND ends_on IS NULL").format(marks),
                        (day, position, prefix.replace("%", r"\%") + "%"))
        if self.listings:
            with cur.copy(SQL("COPY {} ({}) FROM STDIN").format(
                    listings, SQL(", ").join(map(Identifier, LISTING_COLUMNS)))) as copy:
                for row in self.listings:
                    copy.write_row(row)
        for listing_id, day, position in self.delistings:
            cur.execute(SQL("UPDATE {} SET ended_on = %s, end_position = %s"
                            " WHERE listing_id = %s").format(listings), (day, position, listing_id))
