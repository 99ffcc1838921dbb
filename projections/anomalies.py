"""Projection "anomalies": the flags of AR-1..AR-12, re-judged for every scope an event touches.

Each batch folds its events into `AnomalyFacts`, then runs the rules again for each touched
scope (a patent, a party, or the subsidies as a whole) and replaces that scope's rows. So a
late (backdated) event that completes or breaks a pattern raises or drops the flag it should,
and a flag whose evidence is unchanged keeps its id, and with it the regulator's finding.
"""

from __future__ import annotations

import psycopg
from psycopg.sql import SQL, Identifier

from ledger import events as ev
from projections.anomaly_config import rule_params
from projections.anomaly_facts import AnomalyFacts
from projections.anomaly_rules import PARTY_RULES, PATENT_RULES, SUBSIDY_RULES, Flag
from projections.copy_text import array
from projections.credit_marks import CreditRows

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
    tables: tuple[str, ...] = ("rm_anomalies", "rm_findings", "rm_listings", "rm_credit_marks")

    def __init__(self) -> None:
        self.facts = AnomalyFacts()
        # The flag ids each scope has in the table, for scopes written since the last warm-up:
        # re-judging a busy patent mostly finds the same flags, and only changes are written.
        self._written: dict[str, dict[str, int]] = {}  # scope -> flag id -> content hash

    def reset(self) -> None:
        self.facts = AnomalyFacts()
        self._written = {}

    def warm(self, batch: Batch) -> None:
        for position, event in batch:
            self.facts.apply(position, event)

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        touched: set[str] = set()
        findings = []
        credit = CreditRows()
        for position, event in batch:
            touched |= self.facts.apply(position, event)
            credit.add(position, event, self.facts)
            if isinstance(event, ev.AnomalyFinding):
                decision = "confirmed" if isinstance(event, ev.AnomalyConfirmed) else "dismissed"
                findings.append((event.anomaly_id, decision, event.note, position,
                                 event.timestamp))
        if touched:
            self._write_flags(cur, sorted(touched), Identifier("rm_anomalies" + suffix))
        if findings:
            with cur.copy(SQL("COPY {} (anomaly_id, decision, note, position, recorded_at)"
                              " FROM STDIN").format(Identifier("rm_findings" + suffix))) as copy:
                for row in findings:
                    copy.write_row(row)
        credit.write(cur, suffix)

    def _write_flags(self, cur: psycopg.Cursor, scopes: list[str], table: Identifier) -> None:
        """Replace each scope's flags: by id where this process wrote the scope before, else
        the whole scope (after a warm-up the table's ids are not in memory)."""
        whole: list[str] = []
        dropped: list[str] = []
        added: dict[str, Flag] = {}
        for scope in scopes:
            flags = {f.id: f for f in evaluate(self.facts, scope)}
            now = {i: hash(f) for i, f in flags.items()}  # an explanation may change alone
            before = self._written.get(scope)
            if before is None:
                whole.append(scope)
                added.update(flags)
            else:
                dropped += [i for i, h in before.items() if now.get(i) != h]
                added.update((i, f) for i, f in flags.items() if before.get(i) != now[i])
            self._written[scope] = now
        if whole:
            cur.execute(SQL("DELETE FROM {} WHERE scope = ANY(%s)").format(table), (whole,))
        if dropped:
            cur.execute(SQL("DELETE FROM {} WHERE id = ANY(%s)").format(table), (dropped,))
        if added:
            with cur.copy(SQL("COPY {} ({}) FROM STDIN").format(
                    table, SQL(", ").join(map(Identifier, COLUMNS)))) as copy:
                for f in added.values():
                    copy.write_row((f.id, f.rule, f.version, f.score, f.explanation, f.scope,
                                    f.detected_on, max(f.evidence), array(f.parties),
                                    array(f.patents), array(f.evidence)))
