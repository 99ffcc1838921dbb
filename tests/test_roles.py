"""The role matrix: no key 401, a key of the wrong role 403, the right role gets through."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.builders import ACME, party
from tests.ledger_fixtures import auth

PLATFORM_POSTS = ["/v1/parties", "/v1/patents", "/v1/patents/201710601862.3/status",
                  "/v1/deals", "/v1/deals/batch"]
REGULATOR_POSTS = ["/v1/subsidies", "/v1/listings", "/v1/listings/l-1/end",
                   "/v1/anomalies/a-1/finding"]

MATRIX = (
    [(path, role, role in ("platform", "admin")) for path in PLATFORM_POSTS
     for role in ("platform", "auditor", "regulator", "admin")]
    + [(path, role, role in ("regulator", "admin")) for path in REGULATOR_POSTS
       for role in ("platform", "auditor", "regulator", "admin")]
)


@pytest.mark.parametrize("path", PLATFORM_POSTS + REGULATOR_POSTS)
def test_no_key_is_401(client: TestClient, path: str) -> None:
    response = client.post(path, json={}, headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_key_is_401(client: TestClient) -> None:
    response = client.post("/v1/parties", json={}, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


@pytest.mark.parametrize(("path", "role", "allowed"), MATRIX)
def test_role_matrix(client: TestClient, path: str, role: str, allowed: bool) -> None:
    # An empty body: an allowed role gets past auth to the shape check (422), others 403.
    response = client.post(path, json={}, headers=auth(role))
    assert response.status_code == (422 if allowed else 403), response.text


@pytest.mark.parametrize("role", ["platform", "auditor", "regulator", "admin"])
def test_every_role_reads_the_event_log(client: TestClient, role: str) -> None:
    assert client.get("/v1/events", headers=auth(role)).status_code == 200
    assert client.get("/v1/events", headers={"Authorization": ""}).status_code == 401


def test_each_event_records_the_key_that_posted_it(client: TestClient) -> None:
    party(client, ACME)
    event = client.get("/v1/events").json()["events"][0]
    assert event["posted_by"].startswith("platform:")
    assert "test-platform-key" not in str(event)
