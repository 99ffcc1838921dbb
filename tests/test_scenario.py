"""The demo scenario: every planted anomaly is flagged with its evidence, no near miss is."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from demo.loading import load
from demo.market import MarketFlow
from demo.scenario import planted_scenario
from ledger.service import LedgerService
from projections.projectors import Projectors
from tests.ledger_fixtures import auth, wait_projected


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
    for rule, cases in scenario.planted.items():
        assert rule in cited, f"{rule} was planted but not flagged"
        for planted in cases:  # each case its own flag (AR-12: a seller's and an agency's)
            assert any(set(planted) <= found for found in cited[rule]), (rule, cited[rule])
    assert len(scenario.planted["AR-12"]) == 2
    every_cited = set().union(*(found for sets in cited.values() for found in sets))
    assert not every_cited & set(scenario.near_misses), "a near miss was flagged"
    planted_deals = {p for _, body, _ in scenario.postings
                     for p in [body.get("deal_id") or body.get("subsidy_id")
                               or body.get("event_id")] if p}
    assert every_cited <= planted_deals, "the lawful background raised a flag"


def test_the_demos_pledge_finance_queries_answer_what_was_planted(
        client: TestClient, projectors: Projectors) -> None:
    """Issue 19: the queries `patent-ledger demo` prints run, and answer by hand."""
    scenario = planted_scenario()
    service = client.app.state.service  # type: ignore[attr-defined]
    stored, refused = load(service, scenario.postings)
    assert refused == [] and stored == len(scenario.postings)
    wait_projected(projectors, service.store.head())
    [text] = [q for q in scenario.queries if "issue 19" in q]
    queries = ["{" + q for q in text.split("\n{")[1:]]
    answers = []
    for query in queries:
        body = client.post("/graphql", json={"query": query}, headers=auth("regulator")).json()
        assert "errors" not in body, (query, body)
        answers.append(body["data"])
    deal, pledge, events, patent, indicators, agency, ar_12 = answers
    payload = deal["deal"]["payload"]
    assert payload["debtor"] and payload["guarantors"] and payload["insurer"]
    assert deal["deal"]["intermediaries"][0]["abnormalOperations"] == ["DEMO-AB-1"]
    assert pledge["before"]["pledge"]["dueOn"] == "2023-02-01"
    assert pledge["after"]["pledge"]["dueOn"] == "2024-02-01"  # extended, not re-pledged
    kinds = [e["kind"] for e in events["events"]["edges"]]
    assert kinds == ["risk_payment", "risk_payment", "disposal"]
    disposal = events["events"]["edges"][2]["payload"]
    # by hand: a 2,500,000 claim; proceeds pay 1,200,000, compensation 800,000; 500,000 short
    assert (disposal["claim_paid"]["amount"], disposal["compensation_covered"]["amount"],
            disposal["shortfall"]["amount"]) == ("1200000", "800000", "500000")
    assert "DEMO-PF-4" in {x["dealId"] for x in patent["patent"]["licences"]}
    k8 = {r["dimension"]: r for r in indicators["indicators"] if r["indicator"] == "K8"}
    assert k8["source:guarantee_payment"]["recovered"] == "500000"
    assert agency["party"]["credit"]["grade"] == "C" and agency["before"]["credit"]["grade"] != "C"
    arranged = {e["dealId"] for e in agency["party"]["arranged"]["edges"]}
    assert arranged >= {"DEMO-PF-1", *(f"DEMO-AG-{i}" for i in range(5))}
    assert any("through agency" in e["node"]["explanation"]
               for e in ar_12["anomalies"]["edges"])
