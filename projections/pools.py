"""Projection "pools" (issue 18; domain.md s10.3-10.4): pools, the patents in them and the
pool licences, patents' IPC classifications, parties' qualifications and size changes.

Every row keeps the log position it came from, so an answer leads back to its event. A pool
entry or exit may name patents the projection has not seen registered (it never crashes on a
stored event): rows are written as the events say, and reads join what exists.
The reads live in `projections/pool_reads.py`.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.law import events as ev
from ledger.law.classification import ipc_section

Batch = list[tuple[int, ev.LedgerEvent]]

_INSERTS = {
    "rm_pools": "(pool_id, name, administrator, field, formed_on, position) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "rm_pool_members": "(pool_id, number, entry_deal, owners, starts_on, ends_on, position) "
                       "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "rm_pool_licences": "(deal_id, number, pool_id, licensee, licence_kind, starts_on, "
                        "ends_on, position) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT DO NOTHING",
    "rm_patent_ipc": "(number, position, effective_on, ipc, sections) "
                     "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "rm_party_qualifications": "(party, qualification, valid_from, valid_to, certificate, "
                               "position) VALUES (%s, %s, %s, %s, %s, %s) "
                               "ON CONFLICT DO NOTHING",
    "rm_party_sizes": "(party, effective_on, size, position) VALUES (%s, %s, %s, %s) "
                      "ON CONFLICT DO NOTHING",
}


class PoolProjection:
    name: str = "pools"
    tables: tuple[str, ...] = tuple(_INSERTS)

    def reset(self) -> None:
        """Nothing cached: every batch writes what its events say."""

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in _INSERTS}
        exits: list[tuple[Any, ...]] = []
        terminations: list[tuple[Any, ...]] = []
        for position, event in batch:
            match event:
                case ev.PoolFormed():
                    rows["rm_pools"].append((event.pool_id, event.name, event.administrator,
                                             event.field, event.effective_on, position))
                case ev.PoolEntered():
                    rows["rm_pool_members"].extend(
                        (event.pool, n, event.deal_id, list(event.owners), event.starts_on,
                         event.ends_on, position) for n in event.patents)
                case ev.PoolExited():
                    exits.append((event.effective_on, event.deal_id, position, event.pool,
                                  list(event.patents), position))
                case ev.LicenceGranted() if event.pool is not None:
                    rows["rm_pool_licences"].extend(
                        (event.deal_id, n, event.pool, event.licensee, event.licence_kind,
                         event.starts_on, event.ends_on, position) for n in event.patents)
                case ev.LicenceTerminated():
                    terminations.append((event.effective_on, event.licence))
                case ev.PatentClassified():
                    rows["rm_patent_ipc"].append(
                        (event.number, position, event.effective_on, list(event.ipc),
                         sorted({ipc_section(s) for s in event.ipc})))
                case ev.PartyQualified():
                    rows["rm_party_qualifications"].append(
                        (event.party, event.qualification, event.valid_from, event.valid_to,
                         event.certificate, position))
                case ev.PartySizeChanged():
                    rows["rm_party_sizes"].append((event.party, event.effective_on,
                                                   event.size, position))
        for table, values in rows.items():
            if values:
                cur.executemany(SQL("INSERT INTO {} " + _INSERTS[table]).format(
                    Identifier(table + suffix)), values)
        if exits:  # after the batch's entries: an exit closes the entries made before it
            cur.executemany(SQL(
                "UPDATE {} SET exited_on = %s, exit_deal = %s, exit_position = %s "
                "WHERE pool_id = %s AND number = ANY(%s) AND exited_on IS NULL "
                "AND position < %s").format(Identifier("rm_pool_members" + suffix)), exits)
        if terminations:
            cur.executemany(SQL("UPDATE {} SET terminated_on = %s WHERE deal_id = %s").format(
                Identifier("rm_pool_licences" + suffix)), terminations)
