"""What an operator watches: health, Prometheus metrics, structured request logs."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.builders import ACME, BETA, PATENT, party, patent, pledge, uscc


def test_healthz_reports_the_log_position(client: TestClient) -> None:
    party(client, ACME)
    body = client.get("/healthz", headers={"Authorization": ""}).json()
    assert body == {"status": "ok", "position": 1, "writer_position": 1}


def test_metrics_count_postings_refusals_and_requests(client: TestClient) -> None:
    party(client, ACME)
    party(client, BETA)
    party(client, uscc(9), kind="bank")
    patent(client, PATENT, {ACME: "1"})
    assert client.post("/v1/deals", json=pledge("p1", [PATENT], [ACME], uscc(9))).status_code == 201
    assert client.post("/v1/deals", json=pledge("p2", [PATENT], [ACME], uscc(9))).status_code == 409
    text = client.get("/metrics").text
    assert 'ledger_rule_refusals_total{rule="INV-9"} 1' in text
    assert 'ledger_postings_total{outcome="accepted"} 5' in text
    assert 'http_requests_total{route="/v1/deals",status="409"} 1' in text
    assert "ledger_group_seconds_bucket" in text
    assert "ledger_writer_queue 0" in text
