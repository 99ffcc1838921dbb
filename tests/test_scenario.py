"""The demo scenario: every planted anomaly is flagged with its evidence, no near miss is."""

from __future__ import annotations

import psycopg

from demo.loading import load
from demo.market import MarketFlow
from demo.scenario import planted_scenario
from ledger.service import LedgerService
from projections.projectors import Projectors
from tests.ledger_fixtures import wait_projected


def test_each_planted_case_fires_and_no_near_miss_does(
        service: LedgerService, projectors: Projectors, database_url: str) -> None:
    """Inside four years of a lawful market (which by itself raises no flag)."""
    scenario = planted_scenario()
    market = MarketFlow(parties=300, patents=1_500, popular=10, deals_per_day=10, seed=3)
    background = [(path, b, "platform") for path, bodies in market.registrations()
                  for b in bodies]
    background += [(path, b, "platform") for path, b in market.postings(15_000)]
    outcomes = [p for p, _, _ in background
                if p.endswith("/industrialisation") or p.startswith("/v1/products")]
    assert 20 <= len(outcomes) <= 150  # issue 18: a few per thousand postings
    stored, refused = load(service, background + scenario.postings)
    assert refused == [], refused[:3]  # every background deal is lawful in order
    assert stored == len(background) + len(scenario.postings)
    kinds = {body["kind"] for path, body, _ in background if path == "/v1/deals"}
    assert kinds >= {"licence", "transfer", "pledge", "pledge_release", "default", "disposal",
                     "equity_contribution", "open_licence_declaration", "pool_entry",
                     "pledge_change"}
    assert {path for path, _, _ in background} >= {"/v1/pools", "/v1/risk-events"}
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
    planted_deals = {p for _, body, _ in scenario.postings
                     for p in [body.get("deal_id") or body.get("subsidy_id")] if p}
    assert every_cited <= planted_deals, "the lawful background raised a flag"
