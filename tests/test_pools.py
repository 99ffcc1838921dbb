"""Patent pools, IPC classes, qualifications and sizes (issue 18 items 3-4; domain.md
s10.3-10.4) through the REST API and GraphQL.

Each rule has a refused case (409 naming it, or 422 naming the field, nothing stored) and a
near case the law accepts. The rules on plain state are in tests/test_pools_plain.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.projectors import Projectors
from tests.builders import (
    assert_refused,
    cn_patent,
    event_count,
    licence,
    party,
    patent,
    refused_by_rule,
    uscc,
)
from tests.ledger_fixtures import answered, auth, wait_projected

A, B, ADMIN, L1, L2 = (uscc(n) for n in (181, 182, 183, 184, 185))
P1, P2, P3 = (cn_patent(2018, 1, 180000 + n) for n in (1, 2, 3))


@pytest.fixture
def ledger(client: TestClient) -> TestClient:
    for p in (A, B, ADMIN, L1, L2):
        party(client, p, founded_on="2010-01-01", size="small")
    patent(client, P1, {A: "0.5", B: "0.5"})
    patent(client, P2, {A: "1"}, ipc=["F16K 1/00"])
    patent(client, P3, {B: "1"})
    created = client.post("/v1/pools", json={
        "pool_id": "valves", "name": "Valve pool", "administrator": ADMIN, "field": "valves",
        "formed_on": "2020-01-01"})
    assert created.status_code == 201, created.text
    return client


def entry(deal_id: str, patents: list[str], owners: list[str], starts_on: str = "2020-02-01",
          **extra: Any) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": "pool_entry", "effective_on": starts_on,
            "pool": "valves", "patents": patents, "owners": owners, "starts_on": starts_on,
            **extra}


def accepted(client: TestClient, body: dict[str, Any], path: str = "/v1/deals") -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


gql = answered  # GraphQL data, as a regulator unless `role` says


def test_a_pool_is_formed_once_by_its_id(ledger: TestClient) -> None:
    body = {"pool_id": "valves", "name": "Valve pool", "administrator": ADMIN,
            "field": "valves", "formed_on": "2020-01-01"}
    again = ledger.post("/v1/pools", json=body)
    assert again.status_code == 200 and again.json()["pool_id"] == "valves"
    other = ledger.post("/v1/pools", json={**body, "name": "Another"})
    assert other.status_code == 409
    assert_refused(ledger, "/v1/pools", {**body, "pool_id": "x", "administrator": "nobody"},
                   "administrator")
    assert_refused(ledger, "/v1/pools", {**body, "pool_id": "y", "administrator": L2,
                                         "formed_on": "20-01-01"}, "formed_on")


def test_only_the_platform_forms_pools(ledger: TestClient) -> None:
    response = ledger.post("/v1/pools", headers=auth("auditor"), json={
        "pool_id": "p", "name": "P", "administrator": ADMIN, "formed_on": "2020-01-01"})
    assert response.status_code == 403


def test_every_co_owner_joins_the_pool(ledger: TestClient) -> None:
    facts = refused_by_rule(ledger, entry("E1", [P1], [A]), "INV-2")
    assert facts["missing_owners"] == [B]
    posted = accepted(ledger, entry("E1", [P1], [A, B]))
    assert posted["deal_id"] == "E1"
    assert ledger.post("/v1/deals", json=entry("E1", [P1], [A, B])).status_code == 200


def test_an_unknown_pool_is_a_422(ledger: TestClient) -> None:
    assert_refused(ledger, "/v1/deals", {**entry("E9", [P2], [A]), "pool": "nope"}, "pool",
                   message="unknown pool")


def test_a_patent_leaves_the_pool_only_if_in_it(ledger: TestClient) -> None:
    exit_ = {"deal_id": "X1", "kind": "pool_exit", "effective_on": "2021-01-01",
             "pool": "valves", "patents": [P2], "owners": [A]}
    refused_by_rule(ledger, exit_, "INV-2")
    accepted(ledger, entry("E2", [P2], [A]))
    accepted(ledger, exit_)


def test_the_administrator_grants_pool_licences(ledger: TestClient) -> None:
    accepted(ledger, entry("E2", [P2], [A]))
    body = licence("PL1", [P2], [A], L1, starts_on="2020-03-01", ends_on="2022-12-31",
                   pool="valves")
    del body["licence_kind"]  # ordinary unless stated
    facts = refused_by_rule(ledger, body, "INV-2")
    assert facts["administrator"] == ADMIN
    posted = accepted(ledger, {**body, "licensors": [ADMIN]})
    assert posted["deal_id"] == "PL1"
    outside = licence("PL2", [P3], [ADMIN], L1, starts_on="2020-03-01", pool="valves")
    assert refused_by_rule(ledger, outside, "INV-2")["pool_term"] is None


def test_a_licence_without_a_pool_states_its_kind(ledger: TestClient) -> None:
    body = licence("N1", [P3], [B], L1)
    del body["licence_kind"]
    assert_refused(ledger, "/v1/deals", body, "licence", message="licence_kind is required")


def test_an_exclusive_licence_outside_the_pool_over_its_field_is_refused(
        ledger: TestClient) -> None:
    accepted(ledger, entry("E2", [P2], [A]))
    body = licence("X1", [P2], [A], L2, kind="exclusive", starts_on="2020-06-01")
    facts = refused_by_rule(ledger, {**body, "field": "valves"}, "INV-6")
    assert facts["pool"] == "valves"
    accepted(ledger, {**body, "field": "pumps"})


def test_k2_counts_a_pool_licence_as_kind_pool(ledger: TestClient,
                                               projectors: Projectors) -> None:
    accepted(ledger, entry("E2", [P2], [A]))
    accepted(ledger, licence("PL1", [P2], [ADMIN], L1, starts_on="2020-03-01",
                             ends_on="2022-12-31", pool="valves"))
    accepted(ledger, licence("OL1", [P3], [B], L1, starts_on="2020-03-01"))
    rows = gql(ledger, projectors, """{ indicators(from: "2020-01-01", to: "2020-12-31",
        granularity: "year") { indicator dimension count } }""")["indicators"]
    k2 = {r["dimension"]: r["count"] for r in rows if r["indicator"] == "K2"}
    assert k2 == {"pool/lump_sum": 1, "ordinary/lump_sum": 1}


POOL = """query($id: String!, $on: Date) { pool(id: $id, asOf: $on) { name administrator field
    patents { number startsOn lastDay entryDealId position }
    licences { dealId licensee licenceKind patents } } }"""
PATENT_POOLS = """query($n: String!, $on: Date) { patent(number: $n, asOf: $on) {
    pools { poolId startsOn lastDay } ipc } }"""


def test_a_pool_shows_its_patents_and_licences_on_a_date(ledger: TestClient,
                                                         projectors: Projectors) -> None:
    accepted(ledger, entry("E1", [P1], [A, B]))
    accepted(ledger, entry("E2", [P2], [A], starts_on="2020-05-01"))
    accepted(ledger, licence("PL1", [P1, P2], [ADMIN], L1, starts_on="2020-06-01",
                             ends_on="2022-12-31", pool="valves"))
    accepted(ledger, {"deal_id": "X1", "kind": "pool_exit", "effective_on": "2021-01-01",
                      "pool": "valves", "patents": [P1], "owners": [A, B]})
    now = gql(ledger, projectors, POOL, id="valves")["pool"]
    assert [p["number"] for p in now["patents"]] == [P2]
    assert now["licences"] == [{"dealId": "PL1", "licensee": L1, "licenceKind": "ordinary",
                                "patents": sorted([P1, P2])}]
    then = gql(ledger, projectors, POOL, id="valves", on="2020-03-01")["pool"]
    assert [(p["number"], p["entryDealId"]) for p in then["patents"]] == [(P1, "E1")]
    assert then["licences"] == []
    assert gql(ledger, projectors, POOL, id="valves", on="2019-12-31")["pool"] is None
    pools = gql(ledger, projectors, PATENT_POOLS, n=P1, on="2020-12-31")["patent"]["pools"]
    assert pools == [{"poolId": "valves", "startsOn": "2020-02-01", "lastDay": "2020-12-31"}]
    assert gql(ledger, projectors, PATENT_POOLS, n=P1)["patent"]["pools"] == []


def test_pool_membership_reads_for_conversion_outcomes(ledger: TestClient,
                                                       projectors: Projectors) -> None:
    import asyncio

    import psycopg

    from projections.pool_reads import memberships

    accepted(ledger, entry("E1", [P1], [A, B]))
    wait_projected(projectors, ledger.app.state.service.store.head())  # type: ignore[attr-defined]

    async def read() -> Any:
        url = ledger.app.state.service.database_url  # type: ignore[attr-defined]
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await memberships(conn, [P1, P3])

    found = asyncio.run(read())
    assert list(found) == [P1]
    [membership] = found[P1]
    assert (membership.pool_id, membership.entry_deal, membership.last_day) == (
        "valves", "E1", None)


# --- item 4: IPC, qualifications, sizes ------------------------------------------------------


def test_ipc_symbols_are_validated_and_kept(ledger: TestClient, projectors: Projectors) -> None:
    path = f"/v1/patents/{P3}/classification"
    assert_refused(ledger, path, {"ipc": ["F16K"]}, "ipc.0", message="not an IPC symbol")
    assert_refused(ledger, "/v1/patents", {
        "number": cn_patent(2018, 1, 180009), "title": "T", "filed_on": "2018-07-20",
        "granted_on": "2019-01-08", "owners": [{"party": A, "share": "1"}],
        "ipc": ["Z99Z 1/00"]}, "ipc.0")
    posted = accepted(ledger, {"ipc": ["g06f16/245", "F16K 1/00"],
                               "effective_on": "2021-01-01"}, path)
    assert posted["ipc"] == ["G06F 16/245", "F16K 1/00"]
    before = event_count(ledger)
    again = ledger.post(path, json={"ipc": ["g06f16/245", "F16K 1/00"],
                                    "effective_on": "2021-01-01"})
    assert again.status_code == 200 and event_count(ledger) == before
    assert ledger.post("/v1/patents/201810180099.1/classification",
                       json={"ipc": ["F16K 1/00"]}).status_code == 422
    now = gql(ledger, projectors, PATENT_POOLS, n=P3)["patent"]
    assert now["ipc"] == ["G06F 16/245", "F16K 1/00"]
    assert gql(ledger, projectors, PATENT_POOLS, n=P3, on="2020-12-31")["patent"]["ipc"] == []
    assert gql(ledger, projectors, PATENT_POOLS, n=P2)["patent"]["ipc"] == ["F16K 1/00"]


def test_qualifications_are_dated_and_idempotent(ledger: TestClient,
                                                 projectors: Projectors) -> None:
    path = f"/v1/parties/{L1}/qualifications"
    body = {"qualification": "high_tech", "from": "2020-01-01", "to": "2022-12-31",
            "certificate": "GR202011000123"}
    assert accepted(ledger, body, path)["qualification"] == "high_tech"
    assert ledger.post(path, json=body).status_code == 200
    assert ledger.post(path, json={**body, "to": "2023-12-31"}).status_code == 409
    assert_refused(ledger, path, {**body, "qualification": "famous"}, "qualification")
    assert_refused(ledger, path, {**body, "from": "2023-01-01"}, "body", message="to is before")
    assert_refused(ledger, path, {**body, "from": "2009-01-01"}, "from",
                   message="before party")
    assert_refused(ledger, "/v1/parties/91110000000000999X/qualifications", body, "party_id")
    query = """query($id: String!, $on: Date) { party(id: $id, asOf: $on) {
        qualifications { qualification from to certificate } } }"""
    then = gql(ledger, projectors, query, id=L1, on="2021-06-01")["party"]["qualifications"]
    assert then == [{"qualification": "high_tech", "from": "2020-01-01", "to": "2022-12-31",
                     "certificate": "GR202011000123"}]
    assert gql(ledger, projectors, query, id=L1, on="2023-06-01")["party"]["qualifications"] == []


def test_indicators_read_size_and_qualification_on_the_deals_date(
        ledger: TestClient, projectors: Projectors) -> None:
    """L1 is small until 2021-01-01 and large after; high-tech in 2020 only. A licence to L1
    in 2020 counts in K4 (small) and for high_tech; one in 2021 in neither."""
    accepted(ledger, {"size": "large", "effective_on": "2021-01-01"}, f"/v1/parties/{L1}/size")
    accepted(ledger, {"qualification": "high_tech", "from": "2020-01-01", "to": "2020-12-31"},
             f"/v1/parties/{L1}/qualifications")
    accepted(ledger, licence("K1", [P2], [A], L1, starts_on="2020-06-01"))
    accepted(ledger, licence("K2", [P3], [B], L1, starts_on="2021-06-01"))
    query = """query($q: String, $s: String) { indicators(from: "2020-01-01", to: "2021-12-31",
        granularity: "year", qualification: $q, ipcSection: $s) {
        indicator period dimension count qualification ipcSection } }"""
    rows = gql(ledger, projectors, query)["indicators"]
    k4 = {(r["period"], r["dimension"]): r["count"] for r in rows if r["indicator"] == "K4"}
    assert k4 == {("2020-01-01", "small"): 1}
    qualified = gql(ledger, projectors, query, q="high_tech")["indicators"]
    k2 = [(r["period"], r["count"], r["qualification"]) for r in qualified
          if r["indicator"] == "K2"]
    assert k2 == [("2020-01-01", 1, "high_tech")]
    in_f = gql(ledger, projectors, query, s="F")["indicators"]
    assert [(r["period"], r["count"]) for r in in_f if r["indicator"] == "K2"] == [
        ("2020-01-01", 1)]
    size = """query($id: String!, $on: Date) { party(id: $id, asOf: $on) { size sizeOn } }"""
    assert gql(ledger, projectors, size, id=L1, on="2020-06-01")["party"] == {
        "size": "small", "sizeOn": "small"}
    assert gql(ledger, projectors, size, id=L1)["party"]["sizeOn"] == "large"


def test_a_size_change_is_idempotent_by_party_and_day(ledger: TestClient) -> None:
    path = f"/v1/parties/{L2}/size"
    accepted(ledger, {"size": "medium", "effective_on": "2021-01-01"}, path)
    assert ledger.post(path, json={"size": "medium", "effective_on": "2021-01-01"}
                       ).status_code == 200
    conflict = ledger.post(path, json={"size": "large", "effective_on": "2021-01-01"})
    assert conflict.status_code == 409
    assert_refused(ledger, path, {"size": "huge", "effective_on": "2021-01-01"}, "size")


def test_bad_indicator_dimensions_are_named(ledger: TestClient) -> None:
    response = ledger.post("/graphql", headers=auth("regulator"), json={"query": """{
        indicators(from: "2020-01-01", to: "2020-12-31", ipcSection: "Z") { count } }"""})
    [error] = response.json()["errors"]
    assert error["extensions"]["argument"] == "ipcSection"
    response = ledger.post("/graphql", headers=auth("regulator"), json={"query": """{
        indicators(from: "2020-01-01", to: "2020-12-31", qualification: "x") { count } }"""})
    assert response.json()["errors"][0]["extensions"]["argument"] == "qualification"


def test_the_demo_posts_its_pools_without_a_refusal(service: Any) -> None:
    from demo.loading import load
    from demo.pools import pool_postings

    postings, queries = pool_postings()
    stored, refused = load(service, postings)
    assert refused == [] and stored == len(postings)
    assert "DEMO-POOL-VALVES" in queries


CONVERSIONS = """query($n: String!) { patent(number: $n) { conversions { category since
    evidence { dealId } } } }"""


def test_a_pool_entry_is_the_owners_pooled_conversion_and_a_pool_licence_converts_by_kind(
        ledger: TestClient, projectors: Projectors) -> None:
    """Shanghai's 已参与专利池运营 comes from the entry (s10.1); the administrator's pool
    licence is 已达成普通许可 unless it states another kind (s10.3)."""
    accepted(ledger, entry("E2", [P2], [A], starts_on="2020-02-01"))
    accepted(ledger, licence("PL1", [P2], [ADMIN], L1, starts_on="2020-03-01",
                             ends_on="2022-12-31", pool="valves"))
    shown = gql(ledger, projectors, CONVERSIONS, n=P2)["patent"]["conversions"]
    assert {c["category"]: (c["since"], [e["dealId"] for e in c["evidence"]])
            for c in shown} == {"pooled": ("2020-02-01", ["E2"]),
                                "ordinary_licensed": ("2020-03-01", ["PL1"])}
    assert gql(ledger, projectors, CONVERSIONS, n=P3)["patent"]["conversions"] == []
