"""The batch endpoint: per-deal results in order; `atomic: true` stores all or none."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.builders import ACME, BETA, PATENT, event_count, licence, party, patent, pledge, uscc


def _setup(client: TestClient) -> None:
    party(client, ACME)
    party(client, BETA)
    party(client, uscc(7), kind="bank")
    patent(client, PATENT, {ACME: "1"})


def test_non_atomic_batch_stores_each_lawful_deal(client: TestClient) -> None:
    _setup(client)
    deals = [
        pledge("p1", [PATENT], [ACME], uscc(7)),
        pledge("p2", [PATENT], [ACME], uscc(7)),  # INV-9: already pledged
        licence("l1", [PATENT], [ACME], BETA, pledgee_consent=True),
    ]
    response = client.post("/v1/deals/batch", json={"deals": deals, "atomic": False})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 409, 201]
    assert results[1]["rule"] == "INV-9"
    assert results[1]["facts"]["blocking_pledge"] == "p1"
    assert event_count(client) == 4 + 2


def test_atomic_batch_with_one_refusal_stores_nothing(client: TestClient) -> None:
    _setup(client)
    deals = [
        pledge("p1", [PATENT], [ACME], uscc(7)),
        licence("l1", [PATENT], [ACME], BETA, starts_on="2020-07-01"),  # INV-10: no consent
    ]
    response = client.post("/v1/deals/batch", json={"deals": deals, "atomic": True})
    assert response.status_code == 409
    body = response.json()
    assert body["stored"] == 0
    assert body["results"][1]["rule"] == "INV-10"
    assert body["results"][0]["status"] == 424
    assert event_count(client) == 4
    # The pledge was not stored: posting it alone now succeeds.
    assert client.post("/v1/deals", json=deals[0]).status_code == 201


def test_atomic_batch_of_lawful_deals_stores_all(client: TestClient) -> None:
    _setup(client)
    deals = [pledge("p1", [PATENT], [ACME], uscc(7)),
             licence("l1", [PATENT], [ACME], BETA, pledgee_consent=True)]
    response = client.post("/v1/deals/batch", json={"deals": deals, "atomic": True})
    assert response.status_code == 200
    assert response.json()["stored"] == 2
    assert event_count(client) == 6
