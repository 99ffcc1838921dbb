"""The GraphQL audit API: time travel, evidence, pages, limits, roles and the checked-in schema."""

from __future__ import annotations

import gc
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import KeyRing
from api.gql.schema import schema_sdl
from ledger.service import LedgerService
from projections.patent_view import LicenceView
from projections.projectors import Projectors
from projections.queries import PartyRow
from tests.builders import (
    ACME,
    BETA,
    PATENT,
    cn_patent,
    licence,
    party,
    patent,
    pledge,
    transfer,
    uscc,
)
from tests.ledger_fixtures import KEY_SETTING, auth, wait_projected

BANK = uscc(900)
PATENT_QUERY = """query($n: String!, $asOf: Date, $known: DateTime) {
  patent(number: $n, asOf: $asOf, asKnownAt: $known) {
    number status owners { party { id } share }
    licences { dealId licensee { id } inForce }
    pledge { dealId status }
    history(first: 50) { edges { position kind } }
  } }"""


def gql(client: TestClient, query: str, role: str = "auditor", **variables: Any) -> Any:
    response = client.post("/graphql", json={"query": query, "variables": variables},
                           headers=auth(role))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def gql_errors(client: TestClient, query: str, **variables: Any) -> list[str]:
    response = client.post("/graphql", json={"query": query, "variables": variables},
                           headers=auth("auditor"))
    body = response.json()
    assert "errors" in body, body
    return [e["message"] for e in body["errors"]]


def post(client: TestClient, body: dict[str, Any]) -> int:
    response = client.post("/v1/deals", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["position"])


def owners(answer: dict[str, Any]) -> dict[str, str]:
    return {o["party"]["id"]: o["share"] for o in answer["owners"]}


@pytest.fixture
def registered(client: TestClient) -> TestClient:
    for p in (ACME, BETA):
        party(client, p)
    party(client, BANK, kind="bank")
    patent(client, PATENT, {ACME: "1"})
    return client


def test_as_of_and_as_known_at_answer_before_and_after_a_backdated_posting(
        registered: TestClient, projectors: Projectors) -> None:
    client = registered
    post(client, transfer("T-1", [PATENT], [ACME], {BETA: "1"}, effective_on="2021-03-01"))
    time.sleep(0.01)
    before_backdating = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    # Recorded later, effective earlier: ACME licensed the patent while it still owned it.
    last = post(client, licence("L-1", [PATENT], [ACME], BETA,
                                starts_on="2020-05-01", ends_on="2022-04-30"))
    wait_projected(projectors, last)

    now = gql(client, PATENT_QUERY, n=PATENT)["patent"]
    assert owners(now) == {BETA: "1"}
    assert [lic["dealId"] for lic in now["licences"]] == ["L-1"]  # INV-14: it survives

    on_date = gql(client, PATENT_QUERY, n=PATENT, asOf="2020-12-31")["patent"]
    assert owners(on_date) == {ACME: "1"}
    assert [(lic["dealId"], lic["inForce"]) for lic in on_date["licences"]] == [("L-1", True)]
    assert [e["kind"] for e in on_date["history"]["edges"]] == ["patent_registered", "licence"]

    known_then = gql(client, PATENT_QUERY, n=PATENT, asOf="2020-12-31",
                     known=before_backdating)["patent"]
    assert owners(known_then) == {ACME: "1"}
    assert known_then["licences"] == [], "the licence was not yet recorded at that moment"
    assert [e["kind"] for e in known_then["history"]["edges"]] == ["patent_registered"]

    known_now = gql(client, PATENT_QUERY, n=PATENT, known=before_backdating)["patent"]
    assert owners(known_now) == {BETA: "1"} and known_now["licences"] == []

    before_grant = gql(client, PATENT_QUERY, n=PATENT, asOf="2018-01-01")["patent"]
    assert before_grant is None, "the patent was not on the register before its grant"


def test_party_holdings_now_and_as_of_a_date(registered: TestClient,
                                              projectors: Projectors) -> None:
    client = registered
    last = post(client, transfer("T-1", [PATENT], [ACME], {BETA: "1"},
                                 effective_on="2021-03-01"))
    wait_projected(projectors, last)
    query = """query($id: String!, $asOf: Date) { party(id: $id, asOf: $asOf) {
        id name holdings { patent { number } share } history { edges { kind } } } }"""
    assert gql(client, query, id=ACME)["party"]["holdings"] == []
    then = gql(client, query, id=ACME, asOf="2020-01-01")["party"]
    assert then["holdings"] == [{"patent": {"number": PATENT}, "share": "1"}]
    assert gql(client, query, id=BETA)["party"]["holdings"][0]["patent"]["number"] == PATENT
    assert gql(client, query, id="nobody")["party"] is None


def test_every_state_answer_shows_its_evidence(registered: TestClient,
                                                projectors: Projectors) -> None:
    client = registered
    t1 = post(client, transfer("T-1", [PATENT], [ACME], {BETA: "1"}))
    p1 = post(client, pledge("P-1", [PATENT], [BETA], BANK))
    wait_projected(projectors, p1)
    query = """query($n: String!) { patent(number: $n) {
        owners { evidence { position dealId kind } }
        pledge { evidence { position dealId } }
        history { edges { position } } } }"""
    got = gql(client, query, n=PATENT)["patent"]
    assert got["owners"][0]["evidence"] == [{"position": t1, "dealId": "T-1", "kind": "transfer"}]
    assert got["pledge"]["evidence"] == [{"position": p1, "dealId": "P-1"}]
    assert [e["position"] for e in got["history"]["edges"]][-2:] == [t1, p1]
    deal = gql(client, 'query { deal(id: "T-1") { dealId kind position '
                       'patents { number } parties { id } payload } }')["deal"]
    assert deal["position"] == t1 and deal["payload"]["to_parties"] == {BETA: "1"}
    assert {p["id"] for p in deal["parties"]} == {ACME, BETA}


def test_pages_have_no_gaps_or_repeats_and_are_capped(client: TestClient,
                                                      projectors: Projectors) -> None:
    for p in (ACME, BETA):
        party(client, p)
    party(client, BANK, kind="bank")
    numbers = [cn_patent(2018, 1, 500 + i) for i in range(23)]
    for number in numbers:
        patent(client, number, {ACME: "1"}, filed_on="2018-03-01", granted_on="2019-05-01")
    for i, number in enumerate(numbers[:11]):
        post(client, pledge(f"P-{i}", [number], [ACME], BANK))
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]

    def walk(query: str, key: str, ident: str) -> list[Any]:
        seen, after = [], None
        while True:
            page = gql(client, query, after=after)[key]
            seen += [edge["node"][ident] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return seen
            after = page["pageInfo"]["endCursor"]

    events = walk("query($after: String) { events(first: 7, after: $after) { edges { node "
                  "{ position } } pageInfo { hasNextPage endCursor } } }", "events", "position")
    assert events == sorted(set(events)) and len(events) == 3 + 23 + 11
    patents = walk("query($after: String) { patents(first: 5, after: $after) { edges { node "
                   "{ number } } pageInfo { hasNextPage endCursor } } }", "patents", "number")
    assert patents == sorted(numbers)
    pledges = walk("query($after: String) { pledges(status: \"active\", first: 3, after: "
                   "$after) { edges { node { dealId } } pageInfo { hasNextPage endCursor } } }",
                   "pledges", "dealId")
    assert pledges == [f"P-{i}" for i in range(11)]
    assert any("between 1 and 100" in m for m in
               gql_errors(client, "{ events(first: 101) { edges { position } } }"))
    assert any("not a cursor" in m for m in
               gql_errors(client, '{ events(after: "bogus") { edges { position } } }'))


def test_a_page_of_100_patents_with_owners_costs_a_bounded_number_of_queries(
        client: TestClient, projectors: Projectors) -> None:
    holders = [uscc(400 + i) for i in range(10)]
    for p in holders:
        party(client, p)
    party(client, BANK, kind="bank")
    for i in range(100):
        number = cn_patent(2016, 1, 700 + i)
        patent(client, number, {holders[i % 10]: "0.5", holders[(i + 1) % 10]: "0.5"},
               filed_on="2016-03-01", granted_on="2018-05-01")
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    reads = client.app.state.reads  # type: ignore[attr-defined]
    before = reads.queries_run
    page = gql(client, """{ patents(first: 100) { edges { node {
        number status owners { party { id name } share }
        licenceCount licences(first: 5) { licensee { name } } pledge { status }
        openLicence { dealId } } } } }""")
    assert len(page["patents"]["edges"]) == 100
    assert all(len(e["node"]["owners"]) == 2 for e in page["patents"]["edges"])
    assert all(e["node"]["licenceCount"] == 0 for e in page["patents"]["edges"])
    # page, patents, owners, parties, licence counts, licence pages, pledges, open licences:
    # one query each
    assert reads.queries_run - before <= 8


def test_an_answer_leaves_none_of_its_rows_to_the_cyclic_collector(
        registered: TestClient, projectors: Projectors) -> None:
    """graphql-core's execution context is a reference cycle; were a popular patent's
    licences reachable from it, only the collector's passes would free them, and those
    passes stop later answers for milliseconds (api/gql/context.py `Released`)."""
    client = registered
    party(client, uscc(300))
    party(client, uscc(301))
    for i in range(20):
        post(client, licence(f"L-{i}", [PATENT], [ACME], uscc(300 + i % 2)))
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    gc.collect()
    gc.disable()
    try:
        answer = gql(client, PATENT_QUERY, n=PATENT)
        left = [o for o in gc.get_objects() if isinstance(o, LicenceView | PartyRow)]
    finally:
        gc.enable()
    assert len(answer["patent"]["licences"]) == 20
    assert left == []


def test_ledger_shows_each_projection_position_and_lag(registered: TestClient,
                                                       projectors: Projectors) -> None:
    client = registered
    last = post(client, transfer("T-1", [PATENT], [ACME], {BETA: "1"}))
    wait_projected(projectors, last)
    got = gql(client, "{ ledger { position projections { name position lag } } }")["ledger"]
    assert got["position"] == last
    assert {p["name"]: (p["position"], p["lag"]) for p in got["projections"]} == {
        "anomalies": (last, 0), "audit": (last, 0), "indicators": (last, 0),
        "register": (last, 0), "pools": (last, 0),  # pools: issue 18
        "products": (last, 0),  # issue 18 (outcomes)
        "indicator_flags": (last, 0)}  # issue 21: the flagged deals' adjustments
    metrics = client.get("/metrics").text
    assert 'projection_lag_events{projection="register"} 0' in metrics


def test_depth_alias_and_token_limits_refuse_abusive_queries(client: TestClient) -> None:
    deep = "{ patent(number: \"x\") { pledges { patent { pledges { patent { pledges { patent " \
           "{ pledges { patent { pledges { patent { number } } } } } } } } } } } }"
    assert any("exceeds maximum operation depth" in m for m in gql_errors(client, deep))
    aliases = "{ " + " ".join(f"a{i}: ledger {{ position }}" for i in range(31)) + " }"
    assert any("aliases" in m for m in gql_errors(client, aliases))
    tokens = "{ ledger { " + " ".join(["position"] * 2100) + " } }"
    assert any("token" in m.lower() for m in gql_errors(client, tokens))


def test_graphql_roles(client: TestClient) -> None:
    query = {"query": "{ ledger { position } }"}
    assert client.post("/graphql", json=query, headers={"Authorization": ""}).status_code == 401
    assert client.post("/graphql", json=query,
                       headers={"Authorization": "Bearer not-a-key-at-all"}).status_code == 401
    for role in ("platform", "auditor", "regulator", "admin"):
        response = client.post("/graphql", json=query, headers=auth(role))
        assert response.status_code == 200 and "errors" not in response.json(), role
    ide = client.get("/graphql", headers={"Accept": "text/html", "Authorization": ""})
    assert ide.status_code == 200 and "graphiql" in ide.text.lower()


def test_production_has_no_introspection_and_no_graphiql(service: LedgerService) -> None:
    app = create_app(service, KeyRing.from_setting(KEY_SETTING), production=True)
    with TestClient(app, headers=auth("auditor")) as client:
        response = client.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        assert "errors" in response.json()
        assert "introspection" in response.json()["errors"][0]["message"].lower()
        assert client.get("/graphql", headers={"Accept": "text/html"}).status_code != 200
        ok = client.post("/graphql", json={"query": "{ ledger { position } }"})
        assert "errors" not in ok.json()


def test_the_checked_in_schema_matches_the_code() -> None:
    checked_in = (Path(__file__).resolve().parent.parent / "schema.graphql").read_text()
    assert checked_in == schema_sdl(), \
        "schema.graphql is stale: python -m api.gql.schema > schema.graphql"


def test_open_licence_shows_its_take_ups(registered: TestClient,
                                         projectors: Projectors) -> None:
    client = registered
    post(client, {"deal_id": "O-1", "kind": "open_licence_declaration",
                  "effective_on": "2020-01-01", "patents": [PATENT], "owners": [ACME],
                  "starts_on": "2020-01-01", "ends_on": "2022-12-31",
                  "fee": {"mode": "royalty", "rate": "0.02"}})
    last = post(client, {"deal_id": "U-1", "kind": "open_licence_take_up",
                         "effective_on": "2020-03-01", "patents": [PATENT], "licensee": BETA})
    wait_projected(projectors, last)
    got = gql(client, """query($n: String!) { patent(number: $n) { openLicence {
        dealId fee { mode rate } takeUps { dealId licensee { id } licenceKind openLicence } } } }""",
              n=PATENT)["patent"]["openLicence"]
    assert got["dealId"] == "O-1" and got["fee"] == {"mode": "royalty", "rate": "0.02"}
    assert got["takeUps"] == [{"dealId": "U-1", "licensee": {"id": BETA},
                               "licenceKind": "ordinary", "openLicence": True}]
