"""Issue 18 (outcomes) through the REST API and GraphQL: conversions, industrialisation, products.

A university's stock patents are transferred, licensed, put to use by a licensee and by a
partner, and named by products with yearly reports; refusals are 409 naming the rule (or 422
naming the field) and store nothing. K11 and K12 are counted by hand. The rules on plain state
are tests/test_outcomes_plain.py; docs/conversion.md explains each reading.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.products import ProductProjection
from projections.projectors import Projectors
from projections.rebuild import rebuild
from tests.builders import (
    assert_refused,
    cn_patent,
    event_count,
    licence,
    party,
    patent,
    refused_by_rule,
    transfer,
    uscc,
)
from tests.ledger_fixtures import answered, auth

UNI, MAKER, PARTNER, OTHER = uscc(181), uscc(182), uscc(183), uscc(184)
SOLD, LICENSED, SERVED, IDLE, LAPSED = (cn_patent(2017, 1, 180000 + i) for i in range(1, 6))


@pytest.fixture
def ledger(client: TestClient) -> TestClient:
    party(client, UNI, kind="university", region="310000")
    party(client, MAKER, size="small", region="310104")
    party(client, PARTNER, size="medium", region="410100")
    party(client, OTHER)
    for number in (SOLD, LICENSED, SERVED, IDLE, LAPSED):
        patent(client, number, {UNI: "1"})
    return client


def accepted(client: TestClient, body: dict[str, Any], path: str = "/v1/deals",
             status: int = 201) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    return dict(response.json())


gql = partial(answered, role="auditor")  # GraphQL data, as an auditor unless `role` says


def used(report_id: str, party_: str, basis: str = "licence", started_on: str = "2021-03-01",
         **extra: Any) -> dict[str, Any]:
    return {"report_id": report_id, "party": party_, "basis": basis,
            "started_on": started_on, **extra}


def industrialisation(number: str) -> str:
    return f"/v1/patents/{number}/industrialisation"


def product(product_id: str, owner: str, patents: list[str], filed_on: str = "2021-06-01",
            **extra: Any) -> dict[str, Any]:
    return {"product_id": product_id, "name": f"Valve {product_id}", "owner": owner,
            "patents": patents, "filed_on": filed_on, **extra}


def report(year: int, output: str, employees: int) -> dict[str, Any]:
    return {"year": year, "output_value": {"amount": output, "currency": "CNY"},
            "employees": employees}


# --- industrialisation (s10.1, categories 7 and 8) -------------------------------------------


def test_a_licensee_industrialises_only_under_its_licence_in_force(ledger: TestClient) -> None:
    accepted(ledger, licence("lic-1", [LICENSED], [UNI], MAKER, kind="exclusive",
                             starts_on="2021-01-01", ends_on="2023-12-31"))
    facts = refused_by_rule(ledger, used("r0", PARTNER), "INV-17", industrialisation(LICENSED))
    assert facts["party"] == PARTNER and facts["licences_in_force"] == []
    # Before the licence starts, the licensee is not yet licensed either.
    refused_by_rule(ledger, used("r0", MAKER, started_on="2020-12-31"), "INV-17",
                    industrialisation(LICENSED))
    first = accepted(ledger, used("r1", MAKER, deal="lic-1"), industrialisation(LICENSED))
    assert first["category"] == "industrialised_by_licensee" and first["report_id"] == "r1"
    assert first["number"] == LICENSED
    # The same body again is the first answer; another body under the same id a conflict.
    again = accepted(ledger, used("r1", MAKER, deal="lic-1"), industrialisation(LICENSED), 200)
    assert again["position"] == first["position"]
    conflict = ledger.post(industrialisation(LICENSED), json=used("r1", MAKER,
                                                                  started_on="2021-04-01"))
    assert conflict.status_code == 409 and "already posted" in conflict.json()["detail"]


def test_a_partner_industrialises_under_a_named_contract(ledger: TestClient) -> None:
    assert_refused(ledger, industrialisation(SERVED), used("r2", PARTNER, "service_contract"),
                   "body", message="contract_ref")
    assert_refused(ledger, industrialisation(SERVED),
                   used("r2", PARTNER, "licence", contract_ref="TS-1"), "body",
                   message="contract_ref")
    assert_refused(ledger, industrialisation(SERVED),
                   used("r2", uscc(189), "development_contract", contract_ref="TD-1"), "party",
                   message="unknown party")
    unknown = cn_patent(2017, 1, 189999)
    assert_refused(ledger, industrialisation(unknown),
                   used("r2", PARTNER, "development_contract", contract_ref="TD-1"), "number",
                   message="unknown patent")
    stored = accepted(ledger, used("r2", PARTNER, "development_contract", contract_ref="TD-1"),
                      industrialisation(SERVED))
    assert stored["category"] == "industrialised_by_partner"


def test_a_dead_patent_is_not_put_to_use(ledger: TestClient) -> None:
    accepted(ledger, {"status": "lapsed", "effective_on": "2021-01-01"},
             f"/v1/patents/{LAPSED}/status")
    body = used("r3", PARTNER, "service_contract", contract_ref="TS-3", started_on="2021-02-01")
    facts = refused_by_rule(ledger, body, "INV-4", industrialisation(LAPSED))
    assert facts["status"] == "lapsed"
    accepted(ledger, {**body, "started_on": "2020-12-31"}, industrialisation(LAPSED))


def test_only_a_platform_posts_outcomes(ledger: TestClient) -> None:
    before = event_count(ledger)
    body = used("r4", PARTNER, "service_contract", contract_ref="TS-4")
    assert ledger.post(industrialisation(SERVED), json=body,
                       headers=auth("regulator")).status_code == 403
    assert ledger.post("/v1/products", json=product("v0", UNI, [IDLE]),
                       headers=auth("auditor")).status_code == 403
    assert ledger.post("/v1/products", json=product("v0", UNI, [IDLE]),
                       headers={"Authorization": "Bearer no-such-key"}).status_code == 401
    assert event_count(ledger) == before


# --- products (s10.2, INV-17) ------------------------------------------------------------------


def test_a_product_names_only_patents_its_owner_holds_or_is_licensed_under(
        ledger: TestClient) -> None:
    facts = refused_by_rule(ledger, product("v1", MAKER, [LICENSED]), "INV-17", "/v1/products")
    assert facts["owner"] == MAKER and facts["owners"] == [UNI]
    accepted(ledger, licence("lic-2", [LICENSED], [UNI], MAKER, starts_on="2021-01-01",
                             ends_on="2023-12-31"))
    # Filed before the licence started: still refused; on a day it is in force: accepted.
    refused_by_rule(ledger, product("v1", MAKER, [LICENSED], "2020-12-01"), "INV-17",
                    "/v1/products")
    stored = accepted(ledger, product("v1", MAKER, [LICENSED], category="valves",
                                      intensive=True), "/v1/products")
    assert stored["product_id"] == "v1"
    accepted(ledger, product("v1", MAKER, [LICENSED], category="valves", intensive=True),
             "/v1/products", 200)
    accepted(ledger, product("v2", UNI, [IDLE, SOLD]), "/v1/products")  # the holder's own
    assert_refused(ledger, "/v1/products", product("v3", UNI, [IDLE, IDLE]), "patents",
                   message="named twice")
    assert_refused(ledger, "/v1/products", product("v3", UNI, [cn_patent(2017, 1, 189998)]),
                   "patents.0", message="unknown patent")


def test_a_product_reports_once_a_year(ledger: TestClient) -> None:
    accepted(ledger, product("v4", UNI, [IDLE]), "/v1/products")
    stored = accepted(ledger, report(2022, "1200000.50", 35), "/v1/products/v4/reports")
    assert (stored["product_id"], stored["year"]) == ("v4", 2022)
    accepted(ledger, report(2022, "1200000.50", 35), "/v1/products/v4/reports", 200)
    conflict = ledger.post("/v1/products/v4/reports", json=report(2022, "1300000", 35))
    assert conflict.status_code == 409
    assert_refused(ledger, "/v1/products/v4/reports", report(2020, "1", 1), "year",
                   message="before product v4 was filed")
    assert_refused(ledger, "/v1/products/v4/reports", report(2023, "-1", 1), "amount")
    assert_refused(ledger, "/v1/products/v4/reports", report(2023, "1", -1), "employees")
    missing = ledger.post("/v1/products/nope/reports", json=report(2022, "1", 1))
    assert missing.status_code == 404


# --- GraphQL: conversions and products, K11 and K12 -----------------------------------------


def _history(ledger: TestClient) -> None:
    accepted(ledger, transfer("t-1", [SOLD], [UNI], {MAKER: "1"}, "2021-02-01"))
    accepted(ledger, licence("lic-3", [LICENSED], [UNI], MAKER, kind="exclusive",
                             starts_on="2021-01-01", ends_on="2023-12-31"))
    accepted(ledger, used("r5", MAKER, started_on="2022-03-01"), industrialisation(LICENSED))
    accepted(ledger, used("r6", PARTNER, "service_contract", contract_ref="TS-6",
                          started_on="2021-05-01"), industrialisation(SERVED))
    accepted(ledger, product("v5", MAKER, [LICENSED, SOLD], "2021-06-01"), "/v1/products")
    accepted(ledger, product("v6", UNI, [IDLE], "2022-02-01"), "/v1/products")
    accepted(ledger, report(2021, "1000000", 20), "/v1/products/v5/reports")
    accepted(ledger, report(2022, "1500000", 30), "/v1/products/v5/reports")
    accepted(ledger, report(2022, "500000", 8), "/v1/products/v6/reports")


CONVERSIONS = """query($n: String!, $on: Date) { patent(number: $n, asOf: $on) {
    conversions { category since evidence { position dealId kind payload } } } }"""


def test_a_patent_shows_its_conversions_with_evidence_and_as_of(
        ledger: TestClient, projectors: Projectors) -> None:
    _history(ledger)
    now = gql(ledger, projectors, CONVERSIONS, n=LICENSED)["patent"]["conversions"]
    assert [(c["category"], c["since"]) for c in now] == [
        ("exclusive_licensed", "2021-01-01"), ("industrialised_by_licensee", "2022-03-01")]
    # A report is no deal: its evidence is the report event, named by its own id.
    [shown] = now[1]["evidence"]
    assert (shown["kind"], shown["dealId"], shown["payload"]["report_id"]) == (
        "industrialisation", None, "r5")
    before = gql(ledger, projectors, CONVERSIONS, n=LICENSED, on="2021-12-31")
    assert [c["category"] for c in before["patent"]["conversions"]] == ["exclusive_licensed"]
    sold = gql(ledger, projectors, CONVERSIONS, n=SOLD)["patent"]["conversions"]
    assert [(c["category"], c["evidence"][0]["dealId"]) for c in sold] == [("transferred", "t-1")]
    assert gql(ledger, projectors, CONVERSIONS, n=IDLE)["patent"]["conversions"] == []


LIST = """query($f: ConversionFilterInput, $first: Int, $after: String) {
    conversions(filter: $f, first: $first, after: $after) {
        edges { cursor node { number category since patent { number } } }
        pageInfo { hasNextPage endCursor } } }"""


def test_patents_are_listed_by_category_and_by_the_absence_of_any(
        ledger: TestClient, projectors: Projectors) -> None:
    _history(ledger)
    # "Stock patents of universities with no conversion" is one query.
    idle = gql(ledger, projectors, LIST, f={"holderKind": "university", "category": "none"})
    assert sorted(e["node"]["number"] for e in idle["conversions"]["edges"]) == [IDLE, LAPSED]
    # A conversion later than the period asked does not count: SERVED was idle in 2020.
    in_2020 = gql(ledger, projectors, LIST, f={"holderKind": "university", "category": "none",
                                              "to": "2020-12-31"})
    assert len(in_2020["conversions"]["edges"]) == 4  # all but SOLD, which UNI no longer holds
    partners = gql(ledger, projectors, LIST, f={"category": "industrialised_by_partner"})
    assert [e["node"]["number"] for e in partners["conversions"]["edges"]] == [SERVED]
    shanghai = gql(ledger, projectors, LIST, f={"region": "310000", "holderKind": "university"})
    found = {(e["node"]["number"], e["node"]["category"])
             for e in shanghai["conversions"]["edges"]}
    assert found == {(SOLD, "transferred"), (LICENSED, "exclusive_licensed"),
                     (LICENSED, "industrialised_by_licensee"),
                     (SERVED, "industrialised_by_partner")}
    page = gql(ledger, projectors, LIST, f={"region": "310000"}, first=3)["conversions"]
    rest = gql(ledger, projectors, LIST, f={"region": "310000"}, first=3,
               after=page["pageInfo"]["endCursor"])["conversions"]
    assert page["pageInfo"]["hasNextPage"] and not rest["pageInfo"]["hasNextPage"]
    assert len(page["edges"]) + len(rest["edges"]) == 4
    response = ledger.post("/graphql", headers=auth("auditor"), json={
        "query": LIST, "variables": {"f": {"category": "sold"}}})
    assert "argument category: must be one of" in response.json()["errors"][0]["message"]


K = """query($g: String!) { indicators(from: "2021-01-01", to: "2022-12-31", granularity: $g,
    excludeFlagged: false) { indicator period dimension value count patents amount yoyGrowth } }"""


def test_k11_counts_conversions_by_category_and_holder_kind(
        ledger: TestClient, projectors: Projectors) -> None:
    _history(ledger)
    rows = gql(ledger, projectors, K, g="year")["indicators"]
    k11 = {(r["period"][:4], r["dimension"]): r["count"] for r in rows if r["indicator"] == "K11"}
    assert k11 == {
        ("2021", "transferred"): 1, ("2021", "transferred:university"): 1,
        ("2021", "exclusive_licensed"): 1, ("2021", "exclusive_licensed:university"): 1,
        ("2021", "industrialised_by_partner"): 1,
        ("2021", "industrialised_by_partner:university"): 1,
        ("2022", "industrialised_by_licensee"): 1,
        ("2022", "industrialised_by_licensee:university"): 1,
    }
    # Asked as known at a moment, the exact query over the facts answers, not the rollup.
    known = K.replace("excludeFlagged: false", 'excludeFlagged: false, '
                      'asKnownAt: "2199-01-01T00:00:00Z"')
    exact = gql(ledger, projectors, known, g="year")["indicators"]
    assert {(r["period"][:4], r["dimension"]): r["count"] for r in exact
            if r["indicator"] == "K11"} == k11


def test_k12_counts_products_output_and_employment_with_growth(
        ledger: TestClient, projectors: Projectors) -> None:
    _history(ledger)
    rows = gql(ledger, projectors, K, g="year")["indicators"]
    k12 = {(r["period"][:4], r["dimension"]): r for r in rows if r["indicator"] == "K12"}
    assert {k: (r["value"], r["patents"]) for k, r in k12.items()
            if k[1] == "filed"} == {("2021", "filed"): ("1", 2), ("2022", "filed"): ("1", 1)}
    assert k12[("2021", "output_value")]["amount"] == "1000000"
    assert k12[("2022", "output_value")]["value"] == "2000000"
    assert k12[("2022", "output_value")]["yoyGrowth"] == "1.0000"  # 2.0 m against 1.0 m
    assert k12[("2022", "employees")]["value"] == "38"
    assert k12[("2022", "employees")]["yoyGrowth"] == "0.9000"  # 38 against 20
    assert k12[("2022", "employees:enterprise")]["value"] == "30"
    assert k12[("2022", "employees:university")]["value"] == "8"
    region = gql(ledger, projectors, K.replace("excludeFlagged: false",
                                               'excludeFlagged: false, region: "310100"'),
                 g="year")["indicators"]
    assert {r["dimension"] for r in region if r["indicator"] == "K12"} >= {"filed:enterprise"}
    assert not any(r["dimension"].endswith(":university") for r in region
                   if r["indicator"] == "K12")


PRODUCTS = """query($id: String!, $n: String!, $p: String!, $on: Date) {
    product(id: $id) { id name category intensive filedOn owner { id kind }
        patents { number } reports { year outputValue { amount currency } employees } }
    patent(number: $n, asOf: $on) { products { id reports { year } } }
    party(id: $p, asOf: $on) { products { id } } }"""


def test_products_are_read_by_id_patent_and_owner_as_of_a_date(
        ledger: TestClient, projectors: Projectors, database_url: str) -> None:
    _history(ledger)
    now = gql(ledger, projectors, PRODUCTS, role="platform", id="v5", n=LICENSED, p=MAKER)
    assert now["product"]["owner"] == {"id": MAKER, "kind": "enterprise"}
    assert sorted(p["number"] for p in now["product"]["patents"]) == sorted([LICENSED, SOLD])
    assert [(r["year"], r["outputValue"]["amount"], r["employees"])
            for r in now["product"]["reports"]] == [(2021, "1000000", 20), (2022, "1500000", 30)]
    assert now["patent"]["products"] == [{"id": "v5", "reports": [{"year": 2021},
                                                                 {"year": 2022}]}]
    assert now["party"]["products"] == [{"id": "v5"}]
    then = gql(ledger, projectors, PRODUCTS, id="v5", n=LICENSED, p=MAKER, on="2021-12-31")
    assert then["patent"]["products"] == [{"id": "v5", "reports": [{"year": 2021}]}]
    early = gql(ledger, projectors, PRODUCTS, id="v5", n=LICENSED, p=MAKER, on="2021-05-31")
    assert early["patent"]["products"] == [] and early["party"]["products"] == []
    # The products projection is rebuilt from the log to the same answer.
    store = ledger.app.state.service.store  # type: ignore[attr-defined]
    assert rebuild(database_url, store, ProductProjection()) == store.head()
    assert gql(ledger, projectors, PRODUCTS, role="platform", id="v5", n=LICENSED,
               p=MAKER) == now
