"""One row per deal event for the indicators K1..K10: giver, receiver, value, detail.

Written by the audit projection, and computed by the indicator projection for its rollup; each
keeps the parties' kind and size it needs in its own table (`FollowsPartyTraits`), and the open
licences offered on each patent (`OpenOffer`): an open-licence take-up is a licence (K2 kind
"open", K4, K5; domain.md s9) whose licensors and fee the take-up itself does not carry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
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
           "application_right", "short_open_licence",
           # issue 18 (pools, migrations/020): the first receiver's qualifications that day
           "r_qualifications",
           # issue 19 (migrations/021): K8 the shortfall a disposal left after compensation
           "shortfall")


# --- issue 18 (pools): party traits on a date ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Traits:
    """What the indicators need of a party: its kind, its size as registered and its dated
    size changes and qualifications (domain.md s10.4), so a deal reads them on its own date.
    Changes are known in log order: one recorded after a deal, though dated before it, does
    not re-tag that deal (docs/pools.md)."""

    kind: str
    size: str | None
    sizes: tuple[tuple[date, str], ...] = ()  # (from, size), by date
    qualifications: tuple[tuple[str, date, date | None], ...] = ()  # (title, from, to)

    def size_on(self, day: date) -> str | None:
        size = self.size
        for since, changed in self.sizes:
            if since > day:
                break
            size = changed
        return size

    def qualifications_on(self, day: date) -> list[str]:
        return sorted({title for title, since, until in self.qualifications
                       if since <= day and (until is None or day <= until)})

    def with_size(self, since: date, size: str) -> Traits:
        kept = [(d, s) for d, s in self.sizes if d != since]
        return replace(self, sizes=tuple(sorted([*kept, (since, size)])))

    def with_qualification(self, title: str, since: date, until: date | None) -> Traits:
        kept = [q for q in self.qualifications if (q[0], q[1]) != (title, since)]
        return replace(self, qualifications=tuple(sorted(
            [*kept, (title, since, until)], key=lambda q: (q[1], q[0]))))

    def stored(self) -> tuple[list[str], list[str]]:
        """The changes as the traits table keeps them (text arrays)."""
        return ([f"{d.isoformat()}={s}" for d, s in self.sizes],
                [f"{t}={f.isoformat()}={'' if u is None else u.isoformat()}"
                 for t, f, u in self.qualifications])


def traits_of_row(kind: str, size: str | None, sizes: list[str] | None,
                  qualifications: list[str] | None) -> Traits:
    parsed_sizes = []
    for item in sizes or ():
        day, _, value = item.partition("=")
        parsed_sizes.append((date.fromisoformat(day), value))
    parsed_quals = []
    for item in qualifications or ():
        title, since, until = item.split("=")
        parsed_quals.append((title, date.fromisoformat(since),
                             date.fromisoformat(until) if until else None))
    return Traits(kind, size, tuple(parsed_sizes), tuple(parsed_quals))


def _changed_traits(event: ev.LedgerEvent, traits: Traits) -> Traits:
    if isinstance(event, ev.PartySizeChanged):
        return traits.with_size(event.effective_on, event.size)
    assert isinstance(event, ev.PartyQualified)
    return traits.with_qualification(event.qualification, event.valid_from, event.valid_to)


_TRAIT_CHANGES = (ev.PartySizeChanged, ev.PartyQualified)

# --- end issue 18 (pools) --------------------------------------------------------------------


PartyTraits = dict[str, Traits]
CACHE_PARTIES = 50_000  # parties' kind and size kept between batches, per projection


@dataclass(frozen=True, slots=True)
class OpenOffer:
    """An open licence declared on a patent (Patent Law art. 50), as a take-up of it needs
    it: who licenses now (the owners: the offer passes with the patent, INV-14) and the fee.
    Kept by log order: a transfer backdated before a take-up recorded earlier does not
    change the take-up's licensors (docs/programmes.md)."""

    owners: tuple[str, ...]
    fee_mode: str
    amount: Decimal | None
    currency: str | None


Offers = dict[str, OpenOffer]


class FollowsPartyTraits:
    """For a projection that writes deal facts: the parties' kind and size in its own table
    (`traits_table`, so its facts never depend on how far another projection has got), with
    the most recently used kept in a bounded cache. A batch reads the parties its deals name
    that the cache lacks in one statement; nothing is read at start. The open licences
    offered live in `offers_table`, read only for the patents a batch's take-ups name."""

    traits_table: str
    offers_table: str

    def __init__(self, cache_parties: int | None = None) -> None:
        self.traits: Lru[str, Traits] = Lru(cache_parties or CACHE_PARTIES)
        # Whether the offers table has a row: until one is declared, a batch's transfers need
        # no statement to move offers (None: not asked yet since start or a reset).
        self.any_offers: bool | None = None

    def reset(self) -> None:
        self.traits.clear()
        self.any_offers = None

    def deal_rows(self, cur: psycopg.Cursor, batch: list[tuple[int, ev.LedgerEvent]],
                  suffix: str) -> list[tuple[Any, ...]]:
        """The batch's deal facts, and its new parties written to the traits table."""
        table = Identifier(self.traits_table + suffix)
        known: PartyTraits = {}
        wanted: set[str] = set()
        offers = self._offers_taken(cur, batch, suffix)
        # A take-up names only its licensee: its licensors (an offer's owners) are wanted too.
        licensors = [owner for offer in offers.values() for owner in offer.owners]
        for party in [*licensors, *(party for _, event in batch
                                    if isinstance(event, ev.DealEvent | ev.SubsidyRecovered
                                                  | ev.PartySizeChanged | ev.PartyQualified
                                                  | ev.RiskPaymentMade
                                                  | ev.IndustrialisationReported)
                                    for party in parties_of(event))]:
            cached = self.traits.get(party)
            if cached is not None:
                known[party] = cached
            else:
                wanted.add(party)
        if wanted:
            cur.execute(SQL("SELECT id, kind, size, sizes, qualifications FROM {} "
                            "WHERE id = ANY(%s)").format(table), (sorted(wanted),))
            known.update((row[0], traits_of_row(*row[1:])) for row in cur.fetchall())
        declared: set[str] = set()
        moved: dict[str, tuple[str, ...]] = {}  # patents whose owners changed -> the last
        rows: list[tuple[Any, ...]] = []
        new: list[str] = []
        changed: set[str] = set()  # issue 18 (pools): known parties whose traits changed
        for position, event in batch:
            if isinstance(event, ev.PartyRegistered):
                known[event.party_id] = Traits(event.party_kind, event.size)
                new.append(event.party_id)
            elif isinstance(event, _TRAIT_CHANGES):  # issue 18 (pools)
                if event.party in known:  # a registered party (the writer checks)
                    known[event.party] = _changed_traits(event, known[event.party])
                    changed.add(event.party)
            elif isinstance(event, ev.DealEvent):
                rows.append(fact_row(position, event, known, offers))
                follow_offers(event, offers, declared, moved)
            elif isinstance(event, ev.SubsidyRecovered):  # issue 17 (credit): K10
                rows.append(recovery_row(position, event, known))
            elif isinstance(event, ev.RiskPaymentMade):  # issue 19: K8
                rows.append(risk_payment_row(position, event, known))
            elif isinstance(event, ev.IndustrialisationReported):  # issue 18 (outcomes): K11
                rows.append(industrialisation_row(position, event, known))
        self._write_offers(cur, offers, declared, moved, suffix)
        if new:
            with cur.copy(SQL("COPY {} (id, kind, size, sizes, qualifications) FROM STDIN"
                              ).format(table)) as copy:
                for party in new:
                    traits = known[party]
                    copy.write_row((party, traits.kind, traits.size, *map(array, traits.stored())))
        if changed - set(new):  # issue 18 (pools)
            cur.executemany(SQL("UPDATE {} SET sizes = %s, qualifications = %s WHERE id = %s"
                                ).format(table),
                            [(*known[p].stored(), p) for p in sorted(changed - set(new))])
        for party, traits in known.items():
            self.traits.put(party, traits)
        self.traits.trim()
        return rows


    def _offers_taken(self, cur: psycopg.Cursor, batch: list[tuple[int, ev.LedgerEvent]],
                      suffix: str) -> Offers:
        """The offers on the patents the batch's take-ups name (one statement, or none)."""
        taken = sorted({number for _, event in batch if isinstance(event, ev.OpenLicenceTaken)
                        for number in event.patents})
        if not taken:
            return {}
        cur.execute(SQL("SELECT number, owners, fee_mode, amount, currency FROM {} "
                        "WHERE number = ANY(%s)").format(
                            Identifier(self.offers_table + suffix)), (taken,))
        return {n: OpenOffer(tuple(o), m, a, c) for n, o, m, a, c in cur.fetchall()}

    def _write_offers(self, cur: psycopg.Cursor, offers: Offers, declared: set[str],
                      moved: dict[str, tuple[str, ...]], suffix: str) -> None:
        """Offers declared in the batch (as they stand at its end), and the new owners of
        offered patents that changed hands: one statement each, and none without cause."""
        table = Identifier(self.offers_table + suffix)
        if declared:
            cur.executemany(SQL(
                "INSERT INTO {} (number, owners, fee_mode, amount, currency) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (number) DO UPDATE SET "
                "owners = EXCLUDED.owners, fee_mode = EXCLUDED.fee_mode, "
                "amount = EXCLUDED.amount, currency = EXCLUDED.currency").format(table),
                [(n, list(offers[n].owners), offers[n].fee_mode, offers[n].amount,
                  offers[n].currency) for n in sorted(declared)])
            self.any_offers = True
        others = {n: list(owners) for n, owners in moved.items() if n not in declared}
        if others and self.any_offers is None:
            cur.execute(SQL("SELECT EXISTS (SELECT 1 FROM {})").format(table))
            self.any_offers = bool(cur.fetchone()[0])  # type: ignore[index]
        if others and self.any_offers:
            cur.execute(SQL("UPDATE {} o SET owners = m.owners FROM jsonb_each(%s::jsonb) AS "
                            "x(number, list) CROSS JOIN LATERAL (SELECT array_agg(v ORDER BY "
                            "i) AS owners FROM jsonb_array_elements_text(x.list) WITH "
                            "ORDINALITY AS e(v, i)) AS m WHERE o.number = x.number"
                            ).format(table), (json.dumps(others),))


def follow_offers(event: ev.DealEvent, offers: Offers, declared: set[str],
                   moved: dict[str, tuple[str, ...]]) -> None:
    """An offer made, or the offered patents' owners changed (in log order)."""
    owners: tuple[str, ...] | None = None
    match event:
        case ev.OpenLicenceDeclared():
            offer = OpenOffer(tuple(event.owners), event.fee_mode,
                              None if event.fee_amount is None else event.fee_amount.amount,
                              None if event.fee_amount is None else event.fee_amount.currency)
            for number in event.patents:
                offers[number] = offer
                declared.add(number)
            return
        case ev.OwnershipTransferred():
            owners = tuple(event.to_parties)
        case ev.EquityContributed():
            owners = (event.company,)
        case ev.PledgeDisposed() if event.to_parties:
            owners = tuple(event.to_parties)
    if owners is not None:
        for number in event.patents:
            moved[number] = owners
            if number in offers:
                offers[number] = OpenOffer(owners, offers[number].fee_mode,
                                           offers[number].amount, offers[number].currency)


def _take_up(event: ev.OpenLicenceTaken, offers: Offers) -> tuple[list[str], Money | None, str]:
    """A take-up's licensors (the first offered patent's owners), fee (the offers' declared
    amounts, in the first one's currency) and K2 detail `open/<fee mode>`."""
    found = [offers[n] for n in event.patents if n in offers]
    if not found:  # no offer seen: INV-7 refuses such a take-up; counted, never a crash
        return [], None, "open/unknown"
    first = found[0]
    amounts = [o.amount for o in found if o.amount is not None and o.currency == first.currency]
    value = Money(sum(amounts, Decimal(0)), first.currency) if amounts and first.currency \
        else None
    return list(first.owners), value, f"open/{first.fee_mode}"


def fact_row(position: int, event: ev.DealEvent, parties: PartyTraits,
             offers: Offers | None = None) -> tuple[Any, ...]:
    """The indicator facts of one deal (releases, defaults and disposals name their pledge;
    the pledge's own row holds its pledgors), with its first receiver's kind and size and
    its first giver's kind. A take-up's licensors and fee come from `offers`."""
    givers: list[str] = []
    receivers: list[str] = []
    value: Money | None = None
    detail: str | None = None
    recovered = owed = shortfall = None
    match event:
        case ev.OwnershipTransferred():
            givers, receivers, value = event.from_parties, list(event.to_parties), event.price
            detail = event.consideration
        case ev.EquityContributed():
            givers, receivers, value = event.from_parties, [event.company], event.valuation
        case ev.LicenceGranted():
            givers, receivers, value = event.licensors, [event.licensee], event.fee_amount
            detail = f"{event.licence_kind}/{event.fee_mode}"
            if event.pool is not None:  # issue 18 (pools): K2 counts pool licences apart,
                # ordinary unless stated (s10.3); a stated kind stays visible for K11
                pool = "pool" if event.licence_kind == "ordinary" else f"pool:{event.licence_kind}"
                detail = f"{pool}/{event.fee_mode}"
        case ev.OpenLicenceDeclared() | ev.OpenLicenceWithdrawn():
            givers = event.owners
        case ev.PoolEntered():  # issue 18: K11 `pooled` is the entering owners' conversion
            givers, receivers = event.owners, [event.administrator]
        case ev.PoolExited():
            givers = event.owners
        case ev.OpenLicenceTaken():
            receivers = [event.licensee]
            givers, value, detail = _take_up(event, offers or {})
        case ev.PledgeRegistered():
            givers, receivers, value = event.pledgors, [event.pledgee], event.secured_amount
            detail = _borrower(event, parties)  # issue 19: K6 by the debtor's kind and size
        case ev.LoanDefaulted():
            value = event.outstanding
        case ev.PledgeDisposed():
            receivers, value, detail = list(event.to_parties), event.proceeds, event.mode
            recovered = event.claim_paid.amount
            covered = event.compensation_covered  # issue 19: None before risk payments
            owed = event.claim_paid.amount + event.shortfall.amount + (
                covered.amount if covered is not None else 0)
            shortfall = event.shortfall.amount
    late = isinstance(event, ev.LicenceGranted) and event.late
    kind = kind_of(event)
    if isinstance(event, ev.OwnershipTransferred) and event.consideration in SUCCESSION:
        kind = "succession"  # the owner's identity changed; no market transfer (K1, K4, K5)
    return (position, kind, event.deal_id, event.effective_on, event.timestamp,
            array(event.patents), array(givers), array(receivers),
            None if value is None else value.amount, None if value is None else value.currency,
            detail, recovered, owed, late, event.corrects,
            *_traits(receivers, parties, event.effective_on),
            _traits(givers, parties, event.effective_on)[0], *_law_marks(event),
            array(_qualifications(receivers, parties, event.effective_on)), shortfall)


def _law_marks(event: ev.DealEvent) -> tuple[bool, bool]:
    """Issue 17: whether a transfer moved an application right, and whether an open licence
    was declared for less than a year (INV-5 flag)."""
    application_right = isinstance(event, ev.OwnershipTransferred) and bool(event.applications)
    short = isinstance(event, ev.OpenLicenceDeclared) \
        and open_licence_short(event.starts_on, event.ends_on)
    return application_right, short


def recovery_row(position: int, event: ev.SubsidyRecovered, parties: PartyTraits
                 ) -> tuple[Any, ...]:
    """A subsidy recovery as a fact K10 counts (issue 17): the party that pays the money
    back is its giver (its region answers a region's question), the amount its value; no
    patent, and `deal_id` is the subsidy's id."""
    return (position, "subsidy_recovery", event.subsidy_id, event.effective_on,
            event.timestamp, array([]), array([event.party]), array([]), event.amount.amount,
            event.amount.currency, None, None, None, False, None, None, None,
            _traits([event.party], parties, event.effective_on)[0], False, False, array([]),
            None)


# --- issue 19 (pledges) ----------------------------------------------------------------------


def _borrower(event: ev.PledgeRegistered, parties: PartyTraits) -> str:
    """K6 `debtor:<kind>/<size>`: who owes the secured debt (the debtor, else the pledgor)."""
    traits = parties.get(event.borrower())
    if traits is None:
        return "unknown/unknown"
    return f"{traits.kind}/{traits.size_on(event.effective_on) or 'unknown'}"


def risk_payment_row(position: int, event: ev.RiskPaymentMade, parties: PartyTraits
                     ) -> tuple[Any, ...]:
    """A risk-sharing payment as a K8 fact: its payer is the giver, its amount both its value
    and what it recovered of the loan (`source:<kind>`); the pledge's patents are its own."""
    return (position, "risk_payment", event.event_id, event.effective_on, event.timestamp,
            array(event.patents), array([event.payer]), array([]), event.amount.amount,
            event.amount.currency, event.risk_kind, event.amount.amount, None, False, None,
            None, None, _traits([event.payer], parties, event.effective_on)[0], False, False,
            array([]), None)


# --- end issue 19 (pledges) ------------------------------------------------------------------


def _traits(who: list[str], parties: PartyTraits, day: date
            ) -> tuple[str | None, str | None]:
    """The first party's kind, and its size on `day` (issue 18: sizes change over time)."""
    found = parties.get(who[0]) if who else None
    return (None, None) if found is None else (found.kind, found.size_on(day))


def _qualifications(who: list[str], parties: PartyTraits, day: date) -> list[str]:
    """Issue 18 (pools): the first party's qualifications in force on `day`."""
    found = parties.get(who[0]) if who else None
    return [] if found is None else found.qualifications_on(day)
def industrialisation_row(position: int, event: ev.IndustrialisationReported,
                          parties: PartyTraits) -> tuple[Any, ...]:
    """Issue 18 (outcomes): an industrialisation report as a conversion K11 counts. Its
    givers are the patent's holders on `started_on` (the holder whose patent was put to use:
    K11's holder kind and region), its receiver the party that uses it; `detail` is its
    category and `deal_id` the report's id."""
    return (position, "industrialisation", event.report_id, event.effective_on,
            event.timestamp, array([event.number]), array(event.holders),
            array([event.party]), None, None, event.category, None, None, False, None,
            *_traits([event.party], parties, event.effective_on),
            _traits(event.holders, parties, event.effective_on)[0], False, False,
            array(_qualifications([event.party], parties, event.effective_on)), None)
