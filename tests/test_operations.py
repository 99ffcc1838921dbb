"""What an operator watches: health, Prometheus metrics, structured request logs."""

from __future__ import annotations

import time
from functools import partial

from fastapi.testclient import TestClient

from ledger.posting import commands as c
from ledger.posting import decisions as d
from ledger.service import LedgerService
from tests.builders import ACME, BETA, PATENT, party, patent, pledge, uscc


def test_healthz_reports_the_log_position(client: TestClient) -> None:
    party(client, ACME)
    body = client.get("/healthz", headers={"Authorization": ""}).json()
    projections = body.pop("projections")
    assert body == {"status": "ok", "position": 1, "writer": {"position": 1, "behind": 0},
                    "writer_position": 1}
    # No projector runs in this test: each projection's lag, read from the database, says so.
    assert projections["register"] == {"position": 0, "lag": 1, "error": None,
                                       "failed_position": None}


def test_healthz_tells_the_truth_about_postings_of_another_process(
    client: TestClient, database_url: str
) -> None:
    """`demo` and `import` post through their own writer: the head moves at once, and this
    process's writer is shown behind it by exactly the gap until it has folded those in."""
    party(client, ACME)
    other = LedgerService(database_url).start()  # as `demo` and `import` do
    try:
        for party_id in (BETA, uscc(1), uscc(2)):
            cmd = c.PartyCommand(id=party_id, name="Elsewhere", kind="enterprise")
            result = other.writer.post_and_wait(partial(d.decide_party, cmd=cmd), "platform:x")
            assert isinstance(result.outcome, d.Accepted)
    finally:
        other.stop()
    seen = []
    deadline = time.monotonic() + 20
    while True:
        body = client.get("/healthz").json()
        assert body["position"] == 4, "the head counts every process's postings"
        writer = body["writer"]
        assert writer["behind"] == body["position"] - writer["position"]
        assert body["writer_position"] == writer["position"]
        seen.append(writer["position"])
        if writer["position"] == 4 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert seen[-1] == 4, f"the idle writer never caught up with the log: {seen}"
    # The idle writer may fold the other process's postings in while they are still coming.
    assert seen == sorted(seen) and set(seen) <= {1, 2, 3, 4}, seen
    # Caught up: this process's next posting is judged against the other process's parties.
    party(client, uscc(3), related_to=[uscc(1)])
    assert client.get("/healthz").json()["writer"] == {"position": 5, "behind": 0}


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
