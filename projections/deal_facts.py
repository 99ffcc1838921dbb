"""One row per deal event for the indicators K1..K10: giver, receiver, value, detail.

Written by the audit projection, and computed by the indicator projection for its rollup; each
keeps the parties' kind and size it needs in its own table (`FollowsPartyTraits`).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.law import events as ev
from ledger.law.rules import open_licence_short
from ledger.law.values import Consideration, Money
from projections.copy_text import array
from projections.event_facts import kind_of, parties_of
from projections.log_events import Lru

SUCCESSION = (Consideration.MERGER.value, Consideration.NAME_CHANGE.value)
COLUMNS = ("position", "kind", "deal_id", "effective_on", "recorded_at", "patents", "givers",
           "receivers", "amount", "currency", "detail", "recovered", "owed", "late",
           "corrects", "r_kind", "r_size", "g_kind",
           # issue 17 (law, migrations/018): K1 application rights, K10 short open licences
           "application_right", "short_open_licence")

# What the indicators need of a party: its kind and size, as registered.
PartyTraits = dict[str, tuple[str, str | None]]
CACHE_PARTIES = 50_000  # parties' kind and size kept between batches, per projection


class FollowsPartyTraits:
    """For a projection that writes deal facts: the parties' kind and size in its own table
    (`traits_table`, so its facts never depend on how far another projection has got), with
    the most recently used kept in a bounded cache. A batch reads the parties its deals name
    that the cache lacks in one statement; nothing is read at start."""

    traits_table: str

    def __init__(self, cache_parties: int | None = None) -> None:
        self.traits: Lru[str, tuple[str, str | None]] = Lru(cache_parties or CACHE_PARTIES)

    def reset(self) -> None:
        self.traits.clear()

    def deal_rows(self, cur: psycopg.Cursor, batch: list[tuple[int, ev.LedgerEvent]],
                  suffix: str) -> list[tuple[Any, ...]]:
        """The batch's deal facts, and its new parties written to the traits table."""
        table = Identifier(self.traits_table + suffix)
        known: PartyTraits = {}
        wanted: set[str] = set()
        for _, event in batch:
            if isinstance(event, ev.DealEvent):
                for party in parties_of(event):
                    cached = self.traits.get(party)
                    if cached is not None:
                        known[party] = cached
                    else:
                        wanted.add(party)
        if wanted:
            cur.execute(SQL("SELECT id, kind, size FROM {} WHERE id = ANY(%s)").format(table),
                        (sorted(wanted),))
            known.update((i, (kind, size)) for i, kind, size in cur.fetchall())
        rows, new = [], []
        for position, event in batch:
            if isinstance(event, ev.PartyRegistered):
                known[event.party_id] = (event.party_kind, event.size)
                new.append((event.party_id, event.party_kind, event.size))
            elif isinstance(event, ev.DealEvent):
                rows.append(fact_row(position, event, known))
        if new:
            with cur.copy(SQL("COPY {} (id, kind, size) FROM STDIN").format(table)) as copy:
                for row in new:
                    copy.write_row(row)
        for party, traits in known.items():
            self.traits.put(party, traits)
        self.traits.trim()
        return rows


def fact_row(position: int, event: ev.DealEvent, parties: PartyTraits) -> tuple[Any, ...]:
    """The indicator facts of one deal (releases, defaults and disposals name their pledge;
    the pledge's own row holds its pledgors), with its first receiver's kind and size and
    its first giver's kind."""
    givers: list[str] = []
    receivers: list[str] = []
    value: Money | None = None
    detail: str | None = None
    recovered = owed = None
    match event:
        case ev.OwnershipTransferred():
            givers, receivers, value = event.from_parties, list(event.to_parties), event.price
            detail = event.consideration
        case ev.EquityContributed():
            givers, receivers, value = event.from_parties, [event.company], event.valuation
        case ev.LicenceGranted():
            givers, receivers, value = event.licensors, [event.licensee], event.fee_amount
            detail = f"{event.licence_kind}/{event.fee_mode}"
        case ev.OpenLicenceDeclared() | ev.OpenLicenceWithdrawn():
            givers = event.owners
        case ev.OpenLicenceTaken():
            receivers = [event.licensee]
        case ev.PledgeRegistered():
            givers, receivers, value = event.pledgors, [event.pledgee], event.secured_amount
        case ev.LoanDefaulted():
            value = event.outstanding
        case ev.PledgeDisposed():
            receivers, value, detail = list(event.to_parties), event.proceeds, event.mode
            recovered = event.claim_paid.amount
            owed = event.claim_paid.amount + event.shortfall.amount
    late = isinstance(event, ev.LicenceGranted) and event.late
    kind = kind_of(event)
    if isinstance(event, ev.OwnershipTransferred) and event.consideration in SUCCESSION:
        kind = "succession"  # the owner's identity changed; no market transfer (K1, K4, K5)
    return (position, kind, event.deal_id, event.effective_on, event.timestamp,
            array(event.patents), array(givers), array(receivers),
            None if value is None else value.amount, None if value is None else value.currency,
            detail, recovered, owed, late, event.corrects,
            *_traits(receivers, parties), _traits(givers, parties)[0],
            *_law_marks(event))


def _law_marks(event: ev.DealEvent) -> tuple[bool, bool]:
    """Issue 17: whether a transfer moved an application right, and whether an open licence
    was declared for less than a year (INV-5 flag)."""
    application_right = isinstance(event, ev.OwnershipTransferred) and bool(event.applications)
    short = isinstance(event, ev.OpenLicenceDeclared) \
        and open_licence_short(event.starts_on, event.ends_on)
    return application_right, short


def _traits(who: list[str], parties: PartyTraits) -> tuple[str | None, str | None]:
    return parties.get(who[0], (None, None)) if who else (None, None)
