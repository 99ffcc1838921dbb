"""Projection "indicators": K1..K10 added up by period as deals arrive (projections/indicator_sql.py).

Its own projection, not part of "audit", so the audit index keeps its pace and the rollup can be
rebuilt alone. It needs no other projection's tables: each batch's deal facts are computed here
(with the parties' kinds from this projection's own table), copied into a temporary table and added
to the rollup by one statement.
"""

from __future__ import annotations

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.law import events as ev
from projections.deal_facts import COLUMNS, FollowsPartyTraits
from projections.indicator_sql import rollup_write

Batch = list[tuple[int, ev.LedgerEvent]]
BATCH_TABLE = "indicator_batch_facts"  # per connection, emptied at each commit


class IndicatorProjection(FollowsPartyTraits):
    name: str = "indicators"
    tables: tuple[str, ...] = ("rm_indicator_totals", "rm_indicator_members",
                               "rm_indicator_party_traits", "rm_indicator_open_offers")
    traits_table = "rm_indicator_party_traits"
    offers_table = "rm_indicator_open_offers"

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        rows = self.deal_rows(cur, batch, suffix)
        if not rows:
            return
        cur.execute(SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE rm_deal_facts) "
                        "ON COMMIT DELETE ROWS").format(Identifier(BATCH_TABLE)))
        with cur.copy(SQL("COPY {} ({}) FROM STDIN").format(
                Identifier(BATCH_TABLE), SQL(", ").join(map(Identifier, COLUMNS)))) as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(rollup_write(BATCH_TABLE, suffix),
                    {"first": batch[0][0], "last": batch[-1][0]})
