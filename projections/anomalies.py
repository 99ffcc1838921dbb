"""Projection "anomalies": the flags of AR-1..AR-13, re-judged for every scope an event touches.

Each batch takes its events into `AnomalyFacts` (the chronologies they touch, read from this
projection's tables, `projections/anomaly_tables.py`; the new facts are written beside the
flags), then runs the rules again for each touched scope (a patent, a party, or the subsidies
as a whole) on what that scope needs, read back for the whole batch, and replaces the flags
that changed. So a
late (backdated) event that completes or breaks a pattern raises or drops the flag it should,
and a flag whose evidence is unchanged keeps its id, and with it the regulator's finding.
"""

from __future__ import annotations

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.law import events as ev
from projections.anomaly_config import rule_params
from projections.anomaly_facts import AnomalyFacts
from projections.anomaly_rules import PARTY_RULES, PATENT_RULES, SUBSIDY_RULES, Flag
from projections.anomaly_tables import TABLES, AnomalyTables
from projections.copy_text import array
from projections.credit_marks import CreditRows
from projections.event_facts import patents_of

Batch = list[tuple[int, ev.LedgerEvent]]
COLUMNS = ("id", "rule", "rule_version", "score", "explanation", "scope", "detected_on",
           "position", "parties", "patents", "evidence")


def evaluate(facts: AnomalyFacts, scope: str) -> list[Flag]:
    """Every flag of one scope, from the rules that look at it."""
    params = rule_params()
    kind, _, key = scope.partition(":")
    if kind == "patent":
        patent = facts.patents[key]
        return [f for rule, check in PATENT_RULES.items() for f in check(patent, facts,
                                                                          params[rule])]
    if kind == "party":
        return [f for rule, check in PARTY_RULES.items() for f in check(key, facts, params[rule])]
    return [f for rule, check in SUBSIDY_RULES.items() for f in check(facts, params[rule])]


class AnomalyProjection:
    name: str = "anomalies"
    tables: tuple[str, ...] = ("rm_anomalies", "rm_findings", "rm_listings", "rm_credit_marks",
                               *TABLES)

    def __init__(self, cache_bytes: int | None = None, cache_parties: int | None = None,
                 flags_bytes: int | None = None) -> None:
        self.store = AnomalyTables(cache_bytes, cache_parties, flags_bytes)

    def reset(self) -> None:
        self.store.reset()

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        facts = self._needed(cur, batch, suffix)
        touched: set[str] = set()
        findings = []
        credit = CreditRows()
        for position, event in batch:
            touched |= facts.apply(position, event)
            credit.add(position, event, facts)
            if isinstance(event, ev.AnomalyFinding):
                decision = "confirmed" if isinstance(event, ev.AnomalyConfirmed) else "dismissed"
                findings.append((event.anomaly_id, decision, event.note, position,
                                 event.timestamp))
        self.store.write(cur, facts.taken, suffix)
        credit.write(cur, suffix)  # the listings, before the rules read them
        moved: set[int] = set()  # evidence whose flagged state may have changed
        if touched:
            scopes = sorted(touched)
            moved |= self._write_flags(cur, scopes, self._world(cur, scopes, suffix), suffix)
        if findings:
            with cur.copy(SQL("COPY {} (anomaly_id, decision, note, position, recorded_at)"
                              " FROM STDIN").format(Identifier("rm_findings" + suffix))) as copy:
                for row in findings:
                    copy.write_row(row)
            cur.execute(SQL("SELECT DISTINCT unnest(evidence) FROM {} WHERE id = ANY(%s)")
                        .format(Identifier("rm_anomalies" + suffix)),
                        ([row[0] for row in findings],))
            moved.update(position for position, in cur.fetchall())
        if moved and not suffix:
            # For the indicators' adjustments (projections/indicator_flags.py). A rebuild
            # queues nothing: its new generation makes them be computed afresh.
            cur.execute("INSERT INTO rm_indicator_flag_queue SELECT unnest(%s::bigint[])",
                        (sorted(moved),))
        self.store.trim()

    def _needed(self, cur: psycopg.Cursor, batch: Batch, suffix: str) -> AnomalyFacts:
        """What taking the batch's events in reads: the chronologies of the patents they
        touch, the pledges their defaults and disposals name, the sales of parties listed."""
        new = {e.number for _, e in batch if isinstance(e, ev.PatentRegistered)}
        numbers = {n for _, e in batch if not isinstance(e, ev.PatentRegistered)
                   for n in patents_of(e)} - new
        pledges = {e.pledge for _, e in batch if isinstance(e, ev.LoanDefaulted) or
                   (isinstance(e, ev.PledgeDisposed) and e.to_parties)}
        listed = {e.party for _, e in batch if isinstance(e, ev.PartyListed | ev.PartyDelisted)}
        facts = AnomalyFacts()
        facts.patents.update(self.store.patents(cur, numbers, suffix))
        facts.deals.update(self.store.deals(cur, pledges, suffix))
        facts.sold.update(self.store.movements(cur, listed, suffix, sold_only=True)[1])
        return facts

    def _world(self, cur: psycopg.Cursor, scopes: list[str], suffix: str) -> AnomalyFacts:
        """What the touched scopes are judged on, as it stands after the batch."""
        store, world = self.store, AnomalyFacts()
        kinds: dict[str, list[str]] = {"patent": [], "party": [], "subsidies": []}
        for scope in scopes:
            kind, _, key = scope.partition(":")
            kinds[kind].append(key)
        world.patents.update(store.patents(cur, kinds["patent"], suffix))
        parties = set(kinds["party"])
        everything = bool(kinds["subsidies"])
        if parties or everything:
            world.subsidies, world.subsidies_of = store.subsidies(
                cur, None if everything else parties, suffix)
        if parties:
            # Only the movements the party rules count (a party's whole history grows with
            # the log): AR-3's inflows before an award, AR-12's sales to new small buyers.
            params = rule_params()
            inflow, fan_out = params["AR-3"], params["AR-12"]
            world.received.update(store.received_within(
                cur, [(p, world.subsidies[s][1].effective_on) for p in parties
                      for s in world.subsidies_of.get(p, [])],
                inflow.days("window_days"), suffix))
            world.sold.update(store.sold_to_new(
                cur, parties, fan_out.names("buyer_sizes"), fan_out.days("buyer_age_days"),
                suffix))
        if everything:
            world.deals = store.deals(cur, [d for _, s in world.subsidies.values()
                                            for d in s.deals], suffix)
            claimed = {n for _, deal in world.deals.values() for n in deal.patents}
            world.patents.update(store.patents(cur, claimed - world.patents.keys(), suffix))
        sellers = {s for n in kinds["patent"] if n in world.patents
                   for c in world.patents[n].changes for s in c.sellers}
        named = sellers | {b for n in kinds["patent"] if n in world.patents
                           for c in world.patents[n].changes for b in c.buyers}
        named |= {b for p in parties for m in world.sold.get(p, []) for b in m.counterparties}
        world.parties.update(store.parties(cur, named | parties, suffix))
        world.listings.update(store.listings(cur, sellers | parties, suffix))  # AR-10, AR-13
        return world

    def _write_flags(self, cur: psycopg.Cursor, scopes: list[str], world: AnomalyFacts,
                     suffix: str) -> set[int]:
        """Replace each scope's flags where they changed: the stored ones (kept from the
        scope's last judgement, else read back) are compared by id and content (a flag whose
        evidence is unchanged keeps its row).
        Returns the evidence of the flags dropped and added."""
        table = Identifier("rm_anomalies" + suffix)
        stored = self.store.flags(cur, scopes, suffix)
        dropped: list[str] = []
        added: dict[str, Flag] = {}
        moved: set[int] = set()
        for scope in scopes:
            now = {f.id: f for f in evaluate(world, scope)}
            before = stored[scope]
            for i, f in before.items():
                if now.get(i) != f:
                    dropped.append(i)
                    moved.update(f.evidence)
            added.update((i, f) for i, f in now.items() if before.get(i) != f)
            self.store.keep_flags(scope, now)
        moved.update(p for f in added.values() for p in f.evidence)
        if dropped:
            cur.execute(SQL("DELETE FROM {} WHERE id = ANY(%s)").format(table), (dropped,))
        if added:
            with cur.copy(SQL("COPY {} ({}) FROM STDIN").format(
                    table, SQL(", ").join(map(Identifier, COLUMNS)))) as copy:
                for f in added.values():
                    copy.write_row((f.id, f.rule, f.version, f.score, f.explanation, f.scope,
                                    f.detected_on, max(f.evidence), array(f.parties),
                                    array(f.patents), array(f.evidence)))
        return moved
