"""The OpenAPI document tells the truth: what it says a field takes, the service takes, and
the reverse; what it says a route answers, the route answers.

The cases below are the ones schemathesis found (docs/reliability.md, "The OpenAPI document
and schemathesis"); tests/test_schemathesis_run.py runs schemathesis itself per role.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.builders import ACME, BETA, PATENT, event_count, transfer
from tests.ledger_fixtures import auth


def _batch(deal: dict[str, Any]) -> dict[str, Any]:
    return {"deals": [deal], "atomic": False}


@pytest.mark.parametrize("path", ["/v1/deals", "/v1/deals/batch"])
@pytest.mark.parametrize(("field", "given"), [
    ("effective_on", 20200101), ("effective_on", 0), ("registered_on", 0),
    ("effective_on", "2020-03-01T00:00:00"), ("signed_on", "20200301"), ("effective_on", 1.5),
])
def test_a_date_is_a_yyyy_mm_dd_string_on_both_deal_routes(
        registered: TestClient, path: str, field: str, given: Any) -> None:
    """pydantic's lax mode took 0 as 1970-01-01 and 20200101 as seconds since 1970; the
    batch route validates in Python mode from json.loads, the single route from JSON."""
    deal = transfer("d1", [PATENT], [ACME], {BETA: "1"}, **{field: given})
    before = event_count(registered)
    response = registered.post(path, json=deal if path == "/v1/deals" else _batch(deal))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    error = next(e for e in response.json()["errors"] if e["path"][-1] == field)
    assert error["type"] == "date_type"
    assert "a date is a string YYYY-MM-DD" in error["message"]
    assert event_count(registered) == before


@pytest.mark.parametrize("path", ["/v1/deals", "/v1/deals/batch"])
def test_an_iso_date_string_is_still_taken_on_both_deal_routes(
        registered: TestClient, path: str) -> None:
    # A Chinese transfer takes effect on its registration (issue 17: registered_on equals
    # effective_on; tests/test_law_api.py refuses another day).
    deal = transfer("d1", [PATENT], [ACME], {BETA: "1"}, effective_on="2020-01-01",
                    signed_on="2019-12-30", registered_on="2020-01-01")
    before = event_count(registered)
    response = registered.post(path, json=deal if path == "/v1/deals" else _batch(deal))
    assert response.status_code in (200, 201), response.text
    stored = response.json() if path == "/v1/deals" else response.json()["results"][0]
    assert stored["status" if path != "/v1/deals" else "deal_id"] in (201, "d1")
    assert event_count(registered) == before + 1


def test_every_date_field_of_the_document_is_a_date_string(client: TestClient) -> None:
    """One shared type (ledger.posting.fields.Day) validates and documents every date."""
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    dates = {f"{name}.{field}": spec
             for name, schema in schemas.items()
             for field, spec in schema.get("properties", {}).items()
             if field.endswith("_on")}
    assert len(dates) > 20
    for where, spec in dates.items():
        kinds = [(k.get("type"), k.get("format"), k.get("examples")) for k in
                 spec.get("anyOf", [spec])]
        assert ("string", "date", ["2020-01-01"]) in kinds, where


def test_a_patent_number_in_the_path_is_documented_with_its_pattern(client: TestClient) -> None:
    from ledger.posting.fields import PATENT_NO_PATTERN

    paths = client.get("/openapi.json").json()["paths"]
    for route in ("/v1/patents/{number}/status", "/v1/patents/{number}/inventors"):
        (number,) = paths[route]["post"]["parameters"]
        assert number["schema"]["pattern"] == PATENT_NO_PATTERN


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("OPTIONS", "/v1/admin/keys", "GET, POST"),
    ("PUT", "/v1/admin/keys", "GET, POST"),
    ("PATCH", "/v1/parties", "POST"),
    ("GET", "/v1/admin/keys/0123456789ab", "DELETE"),
    ("OPTIONS", "/graphql", "GET, POST"),
])
def test_a_405_names_every_method_the_path_takes(client: TestClient, method: str, path: str,
                                                 allowed: str) -> None:
    """Starlette named only the first matching route's methods: GET and POST /v1/admin/keys
    are two routes, and OPTIONS heard `Allow: POST`."""
    response = client.request(method, path, headers=auth("admin"))
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("body", "detail"), [
    ({"query": "{ __typename }", "operationName": 5}, "`operationName` must be a string or null"),
    ({"query": "{ __typename }", "variables": [1]}, "`variables` must be an object or null"),
    ({"query": "{ __typename }", "extensions": "x"}, "`extensions` must be an object or null"),
    ({"query": 7}, "`query` must be a non-empty string"),
    ({"query": ""}, "`query` must be a non-empty string"),
    ({"variables": {}}, "`query` must be a non-empty string"),
    ([{"query": "{ __typename }"}], "a GraphQL request is a JSON object"),
    ("AAA", "a GraphQL request is a JSON object"),
])
def test_a_graphql_body_the_document_does_not_allow_is_a_400_problem(
        client: TestClient, body: Any, detail: str) -> None:
    """It was answered 200 with GraphQL errors (operationName 5), or 400 in plain text."""
    response = client.post("/graphql", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/invalid-graphql-request")
    assert detail in response.json()["detail"]


def test_a_graphql_body_that_is_not_json_is_a_400_problem(client: TestClient) -> None:
    response = client.post("/graphql", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"] == "the body is not UTF-8 JSON"


def test_a_graphql_body_as_documented_is_answered(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": "query Q { __typename }",
                                             "variables": None, "operationName": "Q",
                                             "extensions": {}})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_a_bad_graphql_body_without_a_key_is_still_a_401(client: TestClient) -> None:
    """The key is checked before the body is read."""
    response = client.post("/graphql", json={"query": 7}, headers={"Authorization": ""})
    assert response.status_code == 401


@pytest.mark.parametrize("path", ["/v1/deals", "/v1/deals/batch"])
@pytest.mark.parametrize("given", [0, 1, "true", "yes", "off"])
def test_a_boolean_is_true_or_false_on_both_deal_routes(registered: TestClient, path: str,
                                                        given: Any) -> None:
    """pydantic's lax mode took 0 for false and "yes" for true (schemathesis sent
    `pledgee_consent: 0` to a batch and it was judged as a deal)."""
    deal = transfer("d1", [PATENT], [ACME], {BETA: "1"}, pledgee_consent=given)
    before = event_count(registered)
    response = registered.post(path, json=deal if path == "/v1/deals" else _batch(deal))
    assert response.status_code == 422, response.text
    error = next(e for e in response.json()["errors"] if e["path"][-1] == "pledgee_consent")
    assert error["type"] == "bool_type"
    assert event_count(registered) == before


def test_a_batch_is_atomic_only_when_it_says_true(registered: TestClient) -> None:
    deal = transfer("d1", [PATENT], [ACME], {BETA: "1"})
    before = event_count(registered)
    response = registered.post("/v1/deals/batch", json={"deals": [deal], "atomic": 1})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["path"] == ["body", "atomic"]
    assert event_count(registered) == before
    assert registered.post("/v1/deals/batch", json=_batch(deal)).json()["stored"] == 1


@pytest.mark.parametrize(("rate", "status"), [("", 422), ("0.12345678", 201), ("1.5", 422),
                                              (0.05, 201), ("0.123456789", 422)])
def test_a_royalty_rate_is_as_documented(registered: TestClient, rate: Any, status: int) -> None:
    """The document said any string; "" was a 422 for a body it admitted."""
    spec = registered.get("/openapi.json").json()["components"]["schemas"]["Fee"]
    pattern = spec["properties"]["rate"]["anyOf"][0]["anyOf"][0]["pattern"]
    if isinstance(rate, str):
        assert (re.fullmatch(pattern, rate) is not None) == (status == 201)
    deal = {"deal_id": "L1", "kind": "licence", "effective_on": "2020-03-01",
            "patents": [PATENT], "licensors": [ACME], "licensee": BETA,
            "licence_kind": "exclusive", "territory": "CN", "field": "all",
            "starts_on": "2020-03-01", "ends_on": "2022-03-01",
            "fee": {"mode": "royalty", "rate": rate}}
    response = registered.post("/v1/deals", json=deal)
    assert response.status_code == status, response.text

