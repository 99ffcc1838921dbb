"""The anomaly projection's chronologies in PostgreSQL, and the bounded caches in front of them.

`AnomalyFacts` used to hold every party, patent chronology, deal, subsidy and movement of the
log in memory (issue 16). Now each fact is a row of a table of this projection (migration
015), written in the batch's transaction as `AnomalyFacts.apply` takes it in, and a batch
reads back only what its events and touched scopes need, with one statement per kind of fact
for the whole batch. The patents' chronologies and the parties most recently used stay in LRU
caches (`CACHE_BYTES`, `CACHE_PARTIES`); listings are read from `rm_listings`, and deals and
subsidies are decoded from the log by position.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.law import events as ev
from ledger.law.values import Money
from projections.anomaly_facts import (
    Change,
    Dated,
    ListingFacts,
    Movement,
    PartyFacts,
    PatentFacts,
    Taken,
)
from projections.anomaly_rules import Flag
from projections.copy_text import array
from projections.log_events import Lru, events_at

V = TypeVar("V")
MIB = 1 << 20
CACHE_BYTES = 48 * MIB  # what the patents' chronologies kept between batches may weigh (README
# limits), so a popular patent counts for its history; the scale benchmark's 20 popular
# patents at 3,000,000 events (4,300 entries each, 36 MiB) fit, instead of evicting each other
FACTS_BYTES = 500  # a chronology without entries (tracemalloc, tests/test_cache_weights.py)
ENTRY_BYTES = 420  # each owner change or dated fact in it, its values shared (`Shared`)
CACHE_PARTIES = 50_000  # parties' registrations kept between batches
FLAGS_BYTES = 24 * MIB  # the flags of the scopes judged last, kept between batches (README
# limits): a scope judged again compares its new flags with these instead of reading them back
# (the write benchmark's 2,000 patents, which keep changing hands, carry about 33,000 at 88,000
# events, some 20 MiB; as a flipping patent's flags grow with its history, the least recently
# judged are let go and read back when next touched)
SCOPE_BYTES = 350  # a scope's entry without flags (tracemalloc, tests/test_cache_weights.py)
FLAG_BYTES = 580  # each flag in it, its explanation and evidence included

TABLES = ("rm_anomaly_parties", "rm_anomaly_patents", "rm_anomaly_changes", "rm_anomaly_dated",
          "rm_anomaly_movements", "rm_anomaly_deals", "rm_anomaly_subsidies")


def _money(amount: str | None, currency: str | None) -> Money | None:
    return None if amount is None or currency is None else Money(Decimal(amount), currency)


def _amount(money: Money | None) -> tuple[str | None, str | None]:
    return (None, None) if money is None else (str(money.amount), money.currency)


class Shared:
    """One object for each distinct value read in one statement: every row brings its own
    copy of a day, a kind, a set of parties or an amount, and a chronology kept in the cache
    would hold them all (shared, an entry weighs about half; tests/test_cache_weights.py)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[type, object], object] = {}

    def __call__(self, value: V) -> V:
        if value is None:
            return value
        return self._seen.setdefault((type(value), value), value)  # type: ignore[return-value]


def change_from(row: tuple[Any, ...], one: Shared) -> Change:
    """An owner change from its row of `rm_anomaly_changes` (number first)."""
    _, day, position, deal_id, kind, sellers, buyers, price, currency, why = row
    return Change(one(day), position, deal_id, one(kind), one(frozenset(sellers)),
                  one(frozenset(buyers)), one(_money(price, currency)), one(why))


def dated_from(row: tuple[Any, ...], one: Shared) -> Dated:
    """A dated fact from its row of `rm_anomaly_dated` (number first)."""
    _, day, position, kind, deal_id, parties, amount, currency = row
    return Dated(one(day), position, one(kind), deal_id, one(frozenset(parties)),
                 one(_money(amount, currency)))


def weight(facts: PatentFacts) -> int:
    """About what a kept chronology costs in bytes."""
    return FACTS_BYTES + ENTRY_BYTES * (len(facts.changes) + len(facts.dated))


def _split(cache: Lru[str, V], keys: Iterable[str]) -> tuple[dict[str, V], list[str]]:
    """(what `cache` holds of `keys`, the keys to read from the tables)."""
    found: dict[str, V] = {}
    wanted = []
    for key in set(keys):
        cached = cache.get(key)
        if cached is not None:
            found[key] = cached
        else:
            wanted.append(key)
    return found, wanted


def flags_weight(flags: dict[str, Flag]) -> int:
    """About what a scope's kept flags cost in bytes."""
    return SCOPE_BYTES + FLAG_BYTES * len(flags)


class AnomalyTables:
    """Reads and writes the chronologies of one projection's tables (`suffix`: a rebuild's)."""

    def __init__(self, cache_bytes: int | None = None, cache_parties: int | None = None,
                 flags_bytes: int | None = None) -> None:
        self.patent_cache: Lru[str, PatentFacts] = Lru(cache_bytes or CACHE_BYTES, weight)
        self.party_cache: Lru[str, PartyFacts] = Lru(cache_parties or CACHE_PARTIES)
        self.flag_cache: Lru[str, dict[str, Flag]] = Lru(flags_bytes or FLAGS_BYTES,
                                                         flags_weight)

    def reset(self) -> None:
        self.patent_cache.clear()
        self.party_cache.clear()
        self.flag_cache.clear()

    def trim(self) -> None:
        self.patent_cache.trim()
        self.party_cache.trim()
        self.flag_cache.trim()

    # --- reading ---------------------------------------------------------------------------

    def patents(self, cur: psycopg.Cursor, numbers: Iterable[str], suffix: str
                ) -> dict[str, PatentFacts]:
        """Each patent's chronology (those not registered yet are left out)."""
        found, wanted = _split(self.patent_cache, numbers)
        if not wanted:
            return found
        loaded: dict[str, PatentFacts] = {}
        cur.execute(SQL("SELECT number, kind, expires_on, registered_at, first_owners FROM {}"
                        " WHERE number = ANY(%s)").format(self._t("rm_anomaly_patents", suffix)),
                    (wanted,))
        for number, kind, expires_on, registered_at, first_owners in cur.fetchall():
            loaded[number] = PatentFacts(number, kind, expires_on, registered_at,
                                         frozenset(first_owners))
        cur.execute(SQL("SELECT number, day, position, deal_id, kind, sellers, buyers, price,"
                        " currency, consideration FROM {} WHERE number = ANY(%s)"
                        " ORDER BY number, day, position").format(
                            self._t("rm_anomaly_changes", suffix)), (wanted,))
        one = Shared()  # a popular patent's thousands of entries hold few distinct values
        for row in cur.fetchall():
            loaded[row[0]].changes.append(change_from(row, one))
        cur.execute(SQL("SELECT number, day, position, kind, deal_id, parties, amount, currency"
                        " FROM {} WHERE number = ANY(%s) ORDER BY number, day, position, ord"
                        ).format(self._t("rm_anomaly_dated", suffix)), (wanted,))
        for row in cur.fetchall():
            loaded[row[0]].dated.append(dated_from(row, one))
        for number, facts in loaded.items():
            self.patent_cache.put(number, facts)
        return found | loaded

    def flags(self, cur: psycopg.Cursor, scopes: Iterable[str], suffix: str
              ) -> dict[str, dict[str, Flag]]:
        """Each scope's flags as stored, by id (a scope without flags: none)."""
        found, wanted = _split(self.flag_cache, scopes)
        found.update((scope, {}) for scope in wanted)
        if wanted:
            cur.execute(SQL("SELECT id, rule, rule_version, score, explanation, scope,"
                            " detected_on, parties, patents, evidence FROM {}"
                            " WHERE scope = ANY(%s)").format(self._t("rm_anomalies", suffix)),
                        (wanted,))
            # The id stored is the one Flag.id gave these contents (a hash: not computed again).
            for flag_id, rule, version, score, explanation, scope, day, parties, patents, \
                    evidence in cur.fetchall():
                found[scope][flag_id] = Flag(rule, version, float(score), explanation, scope,
                                             day, tuple(parties), tuple(patents),
                                             tuple(evidence))
            for scope in wanted:
                self.flag_cache.put(scope, found[scope])
        return found

    def keep_flags(self, scope: str, flags: dict[str, Flag]) -> None:
        """A scope's flags as its batch stores them (dropped with the caches if it fails)."""
        self.flag_cache.put(scope, flags)

    def parties(self, cur: psycopg.Cursor, ids: Iterable[str], suffix: str
                ) -> dict[str, PartyFacts]:
        found, wanted = _split(self.party_cache, ids)
        if wanted:
            cur.execute(SQL("SELECT id, kind, size, founded_on, related_to FROM {}"
                            " WHERE id = ANY(%s)").format(self._t("rm_anomaly_parties", suffix)),
                        (wanted,))
            for party, kind, size, founded_on, related_to in cur.fetchall():
                found[party] = facts = PartyFacts(kind, size, founded_on, tuple(related_to))
                self.party_cache.put(party, facts)
        return found

    def movements(self, cur: psycopg.Cursor, parties: Iterable[str], suffix: str,
                  sold_only: bool = False) -> tuple[dict[str, list[Movement]],
                                                    dict[str, list[Movement]]]:
        """(received, sold) of each party, in the order they were taken in."""
        received: dict[str, list[Movement]] = defaultdict(list)
        sold: dict[str, list[Movement]] = defaultdict(list)
        wanted = sorted(set(parties))
        if wanted:
            cur.execute(SQL("SELECT party, sold, day, position, number, deal_id, counterparties"
                            " FROM {} WHERE party = ANY(%s) AND (sold OR NOT %s)"
                            " ORDER BY party, sold, day, position, ord").format(
                                self._t("rm_anomaly_movements", suffix)), (wanted, sold_only))
            for party, is_sold, day, position, number, deal_id, others in cur.fetchall():
                (sold if is_sold else received)[party].append(
                    Movement(day, position, number, deal_id, frozenset(others)))
        return received, sold

    def received_within(self, cur: psycopg.Cursor, awarded: Iterable[tuple[str, date]],
                        days: int, suffix: str) -> dict[str, list[Movement]]:
        """What each party received in the `days` up to one of its award dates (`awarded`:
        party, date), in the order taken in: all that AR-3 counts. Every movement a party
        ever received would grow with the log, and was read for every batch touching it."""
        found: dict[str, list[Movement]] = defaultdict(list)
        windows = sorted(set(awarded))
        if windows:
            cur.execute(SQL("SELECT party, day, position, number, deal_id, counterparties"
                            " FROM {} m WHERE NOT sold AND party = ANY(%s) AND EXISTS ("
                            "SELECT FROM unnest(%s::text[], %s::date[]) w(party, awarded)"
                            " WHERE w.party = m.party"
                            " AND m.day BETWEEN w.awarded - %s AND w.awarded)"
                            " ORDER BY party, day, position, ord").format(
                                self._t("rm_anomaly_movements", suffix)),
                        (sorted({p for p, _ in windows}), [p for p, _ in windows],
                         [d for _, d in windows], days))
            for party, day, position, number, deal_id, others in cur.fetchall():
                found[party].append(Movement(day, position, number, deal_id, frozenset(others)))
        return found

    def sold_to_new(self, cur: psycopg.Cursor, parties: Iterable[str], sizes: Iterable[str],
                    age_days: int, suffix: str) -> dict[str, list[Movement]]:
        """What each party sold to at least one buyer of `sizes` under `age_days` old on the
        day (registered with a founding date), in the order taken in: all that AR-12 counts.
        Its other sales, which grow with the log, stay in the table."""
        found: dict[str, list[Movement]] = defaultdict(list)
        wanted = sorted(set(parties))
        if wanted:
            cur.execute(SQL("SELECT party, day, position, number, deal_id, counterparties"
                            " FROM {} m WHERE sold AND party = ANY(%s) AND EXISTS ("
                            "SELECT FROM {} b WHERE b.id = ANY(m.counterparties)"
                            " AND b.size = ANY(%s) AND m.day - b.founded_on < %s)"
                            " ORDER BY party, day, position, ord").format(
                                self._t("rm_anomaly_movements", suffix),
                                self._t("rm_anomaly_parties", suffix)),
                        (wanted, sorted(sizes), age_days))
            for party, day, position, number, deal_id, others in cur.fetchall():
                found[party].append(Movement(day, position, number, deal_id, frozenset(others)))
        return found

    def listings(self, cur: psycopg.Cursor, parties: Iterable[str], suffix: str
                 ) -> dict[str, list[tuple[int, ListingFacts]]]:
        """Each party's listings in log order (this projection's `rm_listings`)."""
        found: dict[str, list[tuple[int, ListingFacts]]] = defaultdict(list)
        wanted = sorted(set(parties))
        if wanted:
            cur.execute(SQL("SELECT party, position, listing_id, list, starts_on,"
                            " coalesce(ended_on, ends_on) FROM {} WHERE party = ANY(%s)"
                            " ORDER BY party, position").format(
                                self._t("rm_listings", suffix)), (wanted,))
            for party, position, listing_id, credit_list, starts_on, ends_on in cur.fetchall():
                found[party].append((position, ListingFacts(listing_id, credit_list, starts_on,
                                                            ends_on)))
        return found

    def deals(self, cur: psycopg.Cursor, deal_ids: Iterable[str], suffix: str
              ) -> dict[str, tuple[int, ev.DealEvent]]:
        """Deals by id, decoded from the log (the ids this projection has not seen are left
        out)."""
        wanted = sorted(set(deal_ids))
        if not wanted:
            return {}
        cur.execute(SQL("SELECT deal_id, position FROM {} WHERE deal_id = ANY(%s)").format(
            self._t("rm_anomaly_deals", suffix)), (wanted,))
        at: dict[str, int] = dict(cur.fetchall())
        events = events_at(cur, at.values())
        found = {}
        for deal_id, position in at.items():
            event = events[position]
            assert isinstance(event, ev.DealEvent)
            found[deal_id] = (position, event)
        return found

    def subsidies(self, cur: psycopg.Cursor, parties: Iterable[str] | None, suffix: str
                  ) -> tuple[dict[str, tuple[int, ev.SubsidyAwarded]], dict[str, list[str]]]:
        """Subsidies (of `parties`, or all of them) decoded from the log, and each party's
        subsidy ids in log order."""
        table = self._t("rm_anomaly_subsidies", suffix)
        if parties is None:
            cur.execute(SQL("SELECT subsidy_id, party, position FROM {} ORDER BY position"
                            ).format(table))
        else:
            cur.execute(SQL("SELECT subsidy_id, party, position FROM {} WHERE party = ANY(%s)"
                            " ORDER BY position").format(table), (sorted(set(parties)),))
        rows = cur.fetchall()
        events = events_at(cur, [position for _, _, position in rows])
        subsidies: dict[str, tuple[int, ev.SubsidyAwarded]] = {}
        of: dict[str, list[str]] = defaultdict(list)
        for subsidy_id, party, position in rows:
            event = events[position]
            assert isinstance(event, ev.SubsidyAwarded)
            subsidies[subsidy_id] = (position, event)
            of[party].append(subsidy_id)
        return subsidies, of

    # --- writing ---------------------------------------------------------------------------

    def write(self, cur: psycopg.Cursor, taken: Taken, suffix: str) -> None:
        """The facts a batch took in, and its new patents and parties into the caches."""
        self._copy(cur, "rm_anomaly_parties", suffix,
                   ("id", "kind", "size", "founded_on", "related_to"),
                   [(i, p.party_kind, p.size, p.founded_on, array(p.related_to))
                    for i, p in taken.parties])
        self._copy(cur, "rm_anomaly_patents", suffix,
                   ("number", "kind", "expires_on", "registered_at", "first_owners"),
                   [(p.number, p.kind, p.expires_on, p.registered_at,
                     array(sorted(p.first_owners))) for p in taken.patents])
        self._copy(cur, "rm_anomaly_changes", suffix,
                   ("number", "day", "position", "deal_id", "kind", "sellers", "buyers",
                    "price", "currency", "consideration"),
                   [(n, c.day, c.position, c.deal_id, c.kind, array(sorted(c.sellers)),
                     array(sorted(c.buyers)), *_amount(c.price), c.consideration)
                    for n, c in taken.changes])
        self._copy(cur, "rm_anomaly_dated", suffix,
                   ("number", "day", "position", "ord", "kind", "deal_id", "parties", "amount",
                    "currency"),
                   [(n, d.day, d.position, order, d.kind, d.deal_id, array(sorted(d.parties)),
                     *_amount(d.amount)) for n, order, d in taken.dated])
        self._copy(cur, "rm_anomaly_movements", suffix,
                   ("party", "sold", "day", "position", "ord", "number", "deal_id",
                    "counterparties"),
                   [(party, sold, m.day, m.position, order, m.number, m.deal_id,
                     array(sorted(m.counterparties)))
                    for party, sold, order, m in taken.movements])
        self._copy(cur, "rm_anomaly_deals", suffix, ("deal_id", "position"), taken.deals)
        self._copy(cur, "rm_anomaly_subsidies", suffix, ("subsidy_id", "party", "position"),
                   taken.subsidies)
        for party, facts in taken.parties:
            self.party_cache.put(party, facts)
        for patent in taken.patents:
            self.patent_cache.put(patent.number, patent)

    def _copy(self, cur: psycopg.Cursor, table: str, suffix: str, columns: tuple[str, ...],
              rows: list[Any]) -> None:
        if not rows:
            return
        with cur.copy(SQL("COPY {} ({}) FROM STDIN").format(
                self._t(table, suffix), SQL(", ").join(map(Identifier, columns)))) as copy:
            for row in rows:
                copy.write_row(row)

    @staticmethod
    def _t(table: str, suffix: str) -> Identifier:
        return Identifier(table + suffix)
