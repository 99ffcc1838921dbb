"""The role matrix: no key 401, a key of the wrong role 403, the right role gets through."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import KeyRing
from ledger.service import LedgerService
from tests.builders import ACME, party
from tests.ledger_fixtures import KEY_SETTING, auth

PLATFORM_POSTS = ["/v1/parties", "/v1/patents", "/v1/patents/201710601862.3/status",
                  "/v1/patents/201710601862.3/inventors",
                  "/v1/deals", "/v1/deals/batch",
                  "/v1/patents/batch", "/v1/patents/status/batch",  # official-record feeds
                  # issue 18 (outcomes)
                  "/v1/patents/201710601862.3/industrialisation", "/v1/products",
                  "/v1/products/p-1/reports"]
REGULATOR_POSTS = ["/v1/subsidies", "/v1/listings", "/v1/listings/l-1/end",
                   "/v1/anomalies/a-1/finding", "/v1/subsidies/s-1/recovery"]

@pytest.fixture(scope="module")
def gate(shared_database_url: str) -> Iterator[TestClient]:
    """One service for the tests that store nothing: each only asks who may pass (an empty
    body never gets past the shape check) or reads an empty ledger."""
    service = LedgerService(shared_database_url).start()
    try:
        with TestClient(create_app(service, KeyRing.from_setting(KEY_SETTING)),
                        headers=auth("platform")) as client:
            yield client
    finally:
        service.stop()


MATRIX = (
    [(path, role, role in ("platform", "admin")) for path in PLATFORM_POSTS
     for role in ("platform", "auditor", "regulator", "admin")]
    + [(path, role, role in ("regulator", "admin")) for path in REGULATOR_POSTS
       for role in ("platform", "auditor", "regulator", "admin")]
)


@pytest.mark.parametrize("path", PLATFORM_POSTS + REGULATOR_POSTS)
def test_no_key_is_401(gate: TestClient, path: str) -> None:
    response = gate.post(path, json={}, headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_key_is_401(gate: TestClient) -> None:
    response = gate.post("/v1/parties", json={}, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


@pytest.mark.parametrize(("path", "role", "allowed"), MATRIX)
def test_role_matrix(gate: TestClient, path: str, role: str, allowed: bool) -> None:
    # An empty body: an allowed role gets past auth to the shape check (422) or, for a valid
    # empty body naming nothing the ledger has (ending listing l-1), 404; others 403.
    response = gate.post(path, json={}, headers=auth(role))
    assert response.status_code in ((404, 422) if allowed else (403,)), response.text


@pytest.mark.parametrize("role", ["platform", "auditor", "regulator", "admin"])
def test_every_role_reads_the_event_log(gate: TestClient, role: str) -> None:
    assert gate.get("/v1/events", headers=auth(role)).status_code == 200
    assert gate.get("/v1/events", headers={"Authorization": ""}).status_code == 401


def test_each_event_records_the_key_that_posted_it(client: TestClient) -> None:
    party(client, ACME)
    event = client.get("/v1/events").json()["events"][0]
    assert event["posted_by"].startswith("platform:")
    assert "test-platform-key" not in str(event)


def test_a_key_over_its_rate_limit_hears_429_and_others_go_on(service: LedgerService) -> None:
    """A bucket per key: five requests at once, then 429 with Retry-After for that key only,
    and the key is let in again once its bucket refills."""
    from api.app import create_app
    from api.auth import KeyRing
    from api.rate_limits import RateLimiter
    from tests.ledger_fixtures import KEY_SETTING

    now = [0.0]
    keyring = KeyRing.from_setting(KEY_SETTING)
    keyring.limiter = RateLimiter(rate=1, burst=5, clock=lambda: now[0])
    with TestClient(create_app(service, keyring)) as client:
        answers = [client.get("/v1/events", headers=auth("auditor")).status_code
                   for _ in range(6)]
        assert answers == [200] * 5 + [429]
        limited = client.get("/v1/events", headers=auth("auditor"))
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        assert limited.json()["title"] == "Too Many Requests"
        assert client.get("/v1/events", headers=auth("regulator")).status_code == 200
        now[0] += 1.0  # one token back
        assert client.get("/v1/events", headers=auth("auditor")).status_code == 200


def test_a_bad_rate_limit_setting_is_refused() -> None:
    from api.rate_limits import RateLimiter

    with pytest.raises(ValueError, match="LEDGER_RATE_LIMIT"):
        RateLimiter.from_setting("fast")
    assert RateLimiter.from_setting("10:3").burst == 3


ROOT_FIELDS = {  # every GraphQL root field, asked as briefly as it can be
    "patent": '{ patent(number: "201710601862.3") { number } }',
    "patents": "{ patents(first: 1) { edges { node { number } } } }",
    "party": f'{{ party(id: "{ACME}") {{ id }} }}',
    "events": "{ events(first: 1) { edges { position } } }",
    "deal": '{ deal(id: "nothing") { dealId } }',
    "pledges": "{ pledges(first: 1) { edges { node { dealId } } } }",
    "anomalies": "{ anomalies(first: 1) { edges { node { id } } } }",
    "blacklist": "{ blacklist { party { id } } }",
    "indicators": '{ indicators(from: "2021-01-01", to: "2021-12-31") { indicator } }',
    "programmes": "{ programmes { id } }",
    "ledger": "{ ledger { position } }",
    # issue 18 (outcomes)
    "conversions": "{ conversions(first: 1) { edges { node { number category } } } }",
    "product": '{ product(id: "nothing") { id } }',
    "pool": '{ pool(id: "nothing") { name } }',  # issue 18 (pools)
}
OVERSIGHT_ONLY = {"anomalies", "blacklist"}  # regulators' and auditors' views


@pytest.mark.parametrize("field", sorted(ROOT_FIELDS))
@pytest.mark.parametrize("role", ["platform", "auditor", "regulator", "admin"])
def test_graphql_role_matrix_for_every_root_field(gate: TestClient, field: str,
                                                  role: str) -> None:
    body = gate.post("/graphql", headers=auth(role), json={"query": ROOT_FIELDS[field]}).json()
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    if field in OVERSIGHT_ONLY and role == "platform":
        assert codes == ["FORBIDDEN"], body
    else:
        assert codes == [], body
    no_key = gate.post("/graphql", headers={"Authorization": ""},
                         json={"query": ROOT_FIELDS[field]})
    assert no_key.status_code == 401


def test_nothing_the_matrices_sent_was_stored(gate: TestClient) -> None:
    """Runs after them (a file's tests keep their order): every post above was refused or
    failed its shape check, so the log they shared is still empty."""
    assert gate.get("/v1/events", headers=auth("auditor")).json()["events"] == []


def test_the_graphql_matrix_names_every_root_field() -> None:
    from api.gql.schema import build_schema

    query = build_schema(production=False)._schema.query_type
    assert query is not None
    assert set(query.fields) == set(ROOT_FIELDS), "a root field is missing from the matrix"
