"""App-level fixtures: a running ledger service on a fresh database, and HTTP clients per role.

Loaded by `pytest_plugins` in conftest.py; the database fixtures live there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import KeyRing
from ledger.service import LedgerService
from projections.projectors import Projectors
from tests.builders import ACME, BETA, PATENT, party, patent

KEYS = {
    "platform": "test-platform-key-0123456789",
    "auditor": "test-auditor-key-0123456789",
    "regulator": "test-regulator-key-0123456789",
    "admin": "test-admin-key-0123456789",
}
KEY_SETTING = ",".join(f"{role}:{key}" for role, key in KEYS.items())


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[role]}"}


@pytest.fixture
def service(database_url: str) -> Iterator[LedgerService]:
    svc = LedgerService(database_url).start()
    yield svc
    svc.stop()


@pytest.fixture
def projectors(service: LedgerService, database_url: str) -> Iterator[Projectors]:
    """Every projection following the test's log, as `serve` runs them."""
    running = Projectors(database_url, service.store, service.metrics).start()
    yield running
    running.stop()


def wait_projected(projectors: Projectors, position: int, timeout: float = 20) -> None:
    """Block until every projection, and the settlers after them, have committed `position`
    (they follow asynchronously)."""
    import time

    deadline = time.monotonic() + timeout
    while any(r.projected < position for r in projectors.runners):
        if time.monotonic() > deadline:
            stuck = {r.name: r.projected for r in projectors.runners}
            raise AssertionError(f"projections did not reach {position}: {stuck}")
        time.sleep(0.02)


def wait_settled(client: Any, timeout: float = 20) -> None:
    """Block until the indicators' flag adjustments match the tables they read (after a
    rebuild the settler computes them afresh, at its next page or wake-up)."""
    import time

    reads = client.app.state.reads
    deadline = time.monotonic() + timeout
    while not client.portal.call(reads.flags_settled):
        assert time.monotonic() < deadline, "the flag adjustments were not settled afresh"
        time.sleep(0.05)


@pytest.fixture
def app(service: LedgerService) -> Any:
    return create_app(service, KeyRing.from_setting(KEY_SETTING))


@pytest.fixture
def registered(client: TestClient) -> TestClient:
    """The platform's client, with ACME and BETA registered and PATENT owned by ACME."""
    party(client, ACME)
    party(client, BETA)
    patent(client, PATENT, {ACME: "1"})
    return client


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    """A client that posts as a platform unless a test passes other headers."""
    with TestClient(app, headers=auth("platform")) as test_client:
        yield test_client


def answered(client: TestClient, projectors: Projectors, query: str, role: str = "regulator",
             **variables: Any) -> Any:
    """A GraphQL answer's data once the projections have caught up with the log; an answer
    with errors fails the test."""
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    body = client.post("/graphql", json={"query": query, "variables": variables},
                       headers=auth(role)).json()
    assert "errors" not in body, body
    return body["data"]
