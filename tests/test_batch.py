"""The batch endpoint: per-deal results in order; `atomic: true` stores all or none."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ledger import group_append
from ledger.service import LedgerService
from ledger.verify import verify_log
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


def test_a_batch_stored_in_several_chunks_keeps_log_order_and_the_chain(
        client: TestClient, service: LedgerService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer inserts a group chunk by chunk while it judges the rest: answers, log order
    and hash chain must come out as one insert would make them, a refusal between chunks
    included."""
    monkeypatch.setattr(group_append, "CHUNK", 2)
    _setup(client)
    head = service.store.head()
    deals = [licence(f"l{i}", [PATENT], [ACME], BETA, starts_on=f"2020-0{i + 1}-01")
             for i in range(7)]
    deals[3] = licence("x", [PATENT], [ACME], uscc(99))  # an unknown licensee: 422
    response = client.post("/v1/deals/batch", json={"deals": deals, "atomic": False})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 201, 422, 201, 201, 201]
    stored = [(position, event.deal_id) for position, event in service.store.read_all(head)]
    assert stored == [(r["position"], r["deal_id"]) for r in results if r["status"] == 201]
    assert [deal_id for _, deal_id in stored] == ["l0", "l1", "l2", "l4", "l5", "l6"]
    verdict = verify_log(service.database_url)
    assert verdict.holds and verdict.linked == verdict.events
