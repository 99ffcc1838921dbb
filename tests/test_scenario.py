"""The demo scenario: every planted anomaly is flagged with its evidence, no near miss is."""

from __future__ import annotations

import psycopg

from bench.loading import load
from bench.scenario import planted_scenario
from ledger.service import LedgerService
from projections.projectors import Projectors
from tests.ledger_fixtures import wait_projected


def test_each_planted_case_fires_and_no_near_miss_does(
        service: LedgerService, projectors: Projectors, database_url: str) -> None:
    scenario = planted_scenario()
    stored, refused = load(service, scenario.postings)
    assert refused == [] and stored == len(scenario.postings)
    wait_projected(projectors, service.store.head())
    with psycopg.connect(database_url) as conn:
        flags = conn.execute(
            "SELECT a.rule, array_agg(e.deal_id) FROM rm_anomalies a"
            " LEFT JOIN rm_events e ON e.position = ANY(a.evidence) GROUP BY a.id, a.rule"
        ).fetchall()
    cited: dict[str, list[set[str]]] = {}
    for rule, deals in flags:
        cited.setdefault(rule, []).append({d for d in deals if d})
    for rule, planted in scenario.planted.items():
        assert rule in cited, f"{rule} was planted but not flagged"
        assert any(set(planted) <= found for found in cited[rule]), (rule, cited[rule])
    every_cited = set().union(*(found for sets in cited.values() for found in sets))
    assert not every_cited & set(scenario.near_misses), "a near miss was flagged"
