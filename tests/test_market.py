"""The market generator (demo/market.py) posts what a real market would of issues 18 and 19,
through the public REST API as the benchmarks do: pools with entries, exits and pool
licences, qualifications, size changes, IPC classifications, pledges that name their debt,
pledge changes, risk payments, the disposal modes, and deals arranged by agencies. Nothing is
refused, every kind shows in the read side, and the lawful flow raises no flag."""

from __future__ import annotations

from collections import Counter
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from demo.market import DEALS, MarketFlow
from demo.market_pools import POOLS
from projections.projectors import Projectors
from tests.ledger_fixtures import auth, wait_projected

POSTINGS = 4_000


def small_market() -> MarketFlow:
    """Five years of a small market: few patents, so each sees pools, pledges and their ends."""
    return MarketFlow(parties=60, patents=400, popular=5, deals_per_day=2, seed=11)


def post_market(client: TestClient, market: MarketFlow) -> list[tuple[str, dict[str, Any]]]:
    """Registrations one request each, then the flow as bench/scale.py posts it: runs of
    deals in batches, every other posting on its own to its endpoint. Fails on a refusal."""
    for path, bodies in market.registrations():
        for body in bodies:
            answer = client.post(path, json=body)
            assert answer.status_code == 201, (path, answer.text)
    flow = list(market.postings(POSTINGS))
    deals: list[dict[str, Any]] = []

    def send_deals() -> None:
        if deals:
            answer = client.post("/v1/deals/batch", json={"deals": deals, "atomic": False})
            assert answer.status_code == 200 and answer.json()["failed"] == 0, answer.text[:600]
            deals.clear()

    for path, body in flow:
        if path == DEALS:
            deals.append(body)
            if len(deals) == 500:
                send_deals()
            continue
        send_deals()
        answer = client.post(path, json=body)
        assert answer.status_code == 201, (path, body, answer.text)
    send_deals()
    return flow


def ask(client: TestClient, query: str) -> Any:
    body = client.post("/graphql", json={"query": query}, headers=auth("auditor")).json()
    assert "errors" not in body, body
    return body["data"]


def test_a_small_market_posts_every_new_kind_lawfully(
        client: TestClient, projectors: Projectors, database_url: str) -> None:
    market = small_market()
    flow = post_market(client, market)
    deals = [body for path, body in flow if path == DEALS]
    kinds = Counter(body["kind"] for body in deals)
    paths = Counter(path.split("/")[-1] for path, _ in flow if path != DEALS)
    # issue 18: pools, pool licences, traits; issue 19: pledge finance and intermediaries
    assert kinds["pool_entry"] and kinds["pool_exit"] and kinds["pledge_change"], kinds
    assert any(body.get("pool") for body in deals if body["kind"] == "licence")
    assert {"qualifications", "size", "classification", "risk-events"} <= set(paths), paths
    # issue 18 (outcomes): licensees' use of their licences, products and their reports
    assert {"industrialisation", "products", "reports"} <= set(paths), paths
    risks = {body["kind"] for path, body in flow if path == "/v1/risk-events"}
    assert "pre_compensation" in risks and risks - {"pre_compensation"}, risks
    modes = {body["mode"] for body in deals if body["kind"] == "disposal"}
    assert {"licence_to_third_party", "equity_contribution",
            "acquisition_with_licence_back"} <= modes, modes
    pledges = [body for body in deals if body["kind"] == "pledge"]
    for named in ("debtor", "guarantors", "insurer", "mixed_collateral", "official_record"):
        assert any(named in body for body in pledges), named
    for named in ("agency", "platform", "technology_manager", "official_record"):
        assert any(named in body for body in deals if body["kind"] != "pledge"), named
    assert any("ipc" in body for body in market.patent_bodies())
    # the mix stays a market of transfers and licences: the new kinds are a few per cent
    assert kinds["licence"] + kinds["transfer"] > len(flow) / 2
    assert sum(paths.values()) + kinds["pool_entry"] + kinds["pool_exit"] < len(flow) * 0.03

    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    with psycopg.connect(database_url) as conn:
        stored = dict(conn.execute("SELECT kind, count(*) FROM rm_events GROUP BY kind")
                      .fetchall())
        flags = conn.execute("SELECT rule, explanation FROM rm_anomalies").fetchall()
    assert flags == [], flags[:3]  # no flip_rate: the lawful market raises no flag
    assert sum(stored.values()) == market.registered_events() + POSTINGS
    assert stored["industrialisation"] and stored["product_filed"] and stored["product_report"]
    pool = ask(client, f"""{{ pool(id: "{POOLS[0][0]}") {{ administrator
        patents {{ number }} licences {{ dealId }} }} }}""")["pool"]
    assert pool["administrator"] == market.pool_bodies()[0]["administrator"]
    assert pool["patents"] or pool["licences"], pool
    agency = next(body["agency"] for body in deals if "agency" in body)
    arranged = ask(client, f"""{{ party(id: "{agency}") {{
        arranged(first: 5) {{ edges {{ dealId }} }} }} }}""")["party"]["arranged"]
    assert arranged["edges"], arranged


def test_the_flow_is_the_same_for_a_seed_and_deals_leave_out_the_rest() -> None:
    """Deterministic for a seed; `deals()` (the write benchmarks' view) yields deals only,
    and what it leaves out is what no later deal depends on."""
    first, second = small_market(), small_market()
    assert first.party_bodies() == second.party_bodies()
    assert list(first.postings(2_000)) == list(second.postings(2_000))
    only_deals = list(small_market().deals(1_000))
    assert len(only_deals) == 1_000 and all("kind" in body for body in only_deals)
