"""What the console asks of the API beyond the contract (issue 20), without a browser: the
anomaly queue's orders and region filter, the health page's checkpoint and verify verdict,
and the key's role (`GET /v1/whoami`)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.integrity import verifications
from ledger.integrity.checkpoints import load_or_create_key, make_checkpoint
from projections.projectors import Projectors
from tests.builders import cn_patent, party, patent, transfer, uscc
from tests.ledger_fixtures import auth, wait_projected

A, B, D, E = uscc(210), uscc(211), uscc(212), uscc(213)
QUEUE = """query($filter: AnomalyFilterInput, $order: String!, $first: Int, $after: String) {
  anomalies(filter: $filter, order: $order, first: $first, after: $after) {
    edges { cursor node { id score parties { id } evidence { position } } }
    pageInfo { hasNextPage endCursor } } }"""


def ask(client: TestClient, query: str, role: str = "regulator", **variables: Any
        ) -> dict[str, Any]:
    answer = client.post("/graphql", json={"query": query, "variables": variables},
                         headers=auth(role))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def queue(client: TestClient, order: str, **filter_: str) -> list[dict[str, Any]]:
    body = ask(client, QUEUE, order=order, filter=filter_ or None, first=100)
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["anomalies"]["edges"]]


@pytest.fixture
def flagged(client: TestClient, projectors: Projectors) -> TestClient:
    """Two round trips (AR-1): A and B in Zhengzhou (410102), then D and E in Fuzhou
    (350100), the second recorded later and quicker."""
    party(client, A, region="410102")
    party(client, B)
    party(client, D, region="350100")
    party(client, E)
    first, second = cn_patent(2016, 1, 301), cn_patent(2016, 1, 302)
    patent(client, first, {A: "1"}, filed_on="2016-03-01", granted_on="2018-06-01")
    patent(client, second, {D: "1"}, filed_on="2016-03-01", granted_on="2018-06-01")
    for deal in (transfer("R1", [first], [A], {B: "1"}, "2020-01-10"),
                 transfer("R2", [first], [B], {A: "1"}, "2020-11-01"),
                 transfer("R3", [second], [D], {E: "1"}, "2021-01-10"),
                 transfer("R4", [second], [E], {D: "1"}, "2021-01-20")):
        assert client.post("/v1/deals", json=deal).status_code == 201
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    return client


def test_the_queue_newest_first_or_highest_score_first(flagged: TestClient) -> None:
    in_log = queue(flagged, "log", rule="AR-1")
    assert len(in_log) == 2
    assert queue(flagged, "newest", rule="AR-1") == in_log[::-1]
    by_score = queue(flagged, "score", rule="AR-1")
    assert [f["score"] for f in by_score] == sorted((f["score"] for f in in_log), reverse=True)
    # A page at a time by score: the cursor carries on where the first page ended.
    page = ask(flagged, QUEUE, order="score", filter={"rule": "AR-1"}, first=1)
    first = page["data"]["anomalies"]
    assert first["pageInfo"]["hasNextPage"]
    rest = ask(flagged, QUEUE, order="score", filter={"rule": "AR-1"}, first=1,
               after=first["pageInfo"]["endCursor"])["data"]["anomalies"]["edges"]
    assert [first["edges"][0]["node"]["id"], rest[0]["node"]["id"]] == [f["id"] for f in by_score]


def test_the_queue_by_region_counts_divisions_and_names_a_bad_code(flagged: TestClient) -> None:
    henan = queue(flagged, "newest", rule="AR-1", region="410000")  # the province
    assert [{p["id"] for p in f["parties"]} for f in henan] == [{A, B}]
    fujian = queue(flagged, "newest", rule="AR-1", region="350100")  # the prefecture itself
    assert [{p["id"] for p in f["parties"]} for f in fujian] == [{D, E}]
    assert queue(flagged, "newest", region="440000") == []
    wrong = ask(flagged, QUEUE, order="newest", filter={"region": "410002"})
    assert wrong["errors"][0]["extensions"]["argument"] == "filter.region"
    unknown = ask(flagged, QUEUE, order="loudest")
    assert unknown["errors"][0]["extensions"]["argument"] == "order"
    mixed = ask(flagged, QUEUE, order="score", after=queue_cursor(flagged))
    assert mixed["errors"][0]["extensions"]["argument"] == "after"  # a cursor of another order


def queue_cursor(client: TestClient) -> str:
    body = ask(client, QUEUE, order="newest", first=1)
    return str(body["data"]["anomalies"]["edges"][0]["cursor"])


HEALTH = """{ ledger { position checkpoint { position treeSize keyId }
  verification { holds events problem } } }"""


def test_health_shows_the_last_checkpoint_and_verify_verdict(
        client: TestClient, database_url: str, tmp_path: Any) -> None:
    party(client, A)
    before = ask(client, HEALTH, role="auditor")["data"]["ledger"]
    assert before["checkpoint"] is None and before["verification"] is None
    made = make_checkpoint(database_url, load_or_create_key(tmp_path / "k.pem", create=True))
    assert made is not None
    verifications.record(database_url, True, 1, 1, None)
    verifications.record(database_url, False, 1, 1, "position 1: the link does not match")
    after = ask(client, HEALTH, role="platform")["data"]["ledger"]
    assert after["checkpoint"]["position"] == made.position
    assert after["verification"] == {"holds": False, "events": 1,
                                     "problem": "position 1: the link does not match"}


def test_whoami_names_the_keys_role_and_nothing_without_one(client: TestClient) -> None:
    for role in ("platform", "auditor", "regulator", "admin"):
        answer = client.get("/v1/whoami", headers=auth(role))
        assert answer.status_code == 200 and answer.json()["role"] == role
    assert client.get("/v1/whoami", headers={"Authorization": ""}).status_code == 401


HOLDINGS = """query($id: String!, $asOf: Date, $first: Int, $after: String) {
  party(id: $id, asOf: $asOf) { holdings(first: $first, after: $after) { cursor share patent { number } } } }"""


def test_holdings_come_a_page_at_a_time_by_their_cursors(client: TestClient,
                                                         projectors: Projectors) -> None:
    """The console's party page reads holdings in pages of at most 100 (issue 20 item 5)."""
    party(client, A)
    numbers = [cn_patent(2016, 1, 310 + i) for i in range(3)]
    for number in numbers:
        patent(client, number, {A: "1"}, filed_on="2016-03-01", granted_on="2018-06-01")
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    for as_of in (None, "2020-01-01"):
        seen, after = [], None
        while True:
            page = ask(client, HOLDINGS, role="auditor", id=A, asOf=as_of, first=2, after=after)
            held = page["data"]["party"]["holdings"]
            seen += [h["patent"]["number"] for h in held]
            if len(held) < 2:
                break
            after = held[-1]["cursor"]
        assert seen == sorted(numbers), as_of
    whole = ask(client, HOLDINGS, role="auditor", id=A)["data"]["party"]["holdings"]
    assert len(whole) == 3  # without `first`, every holding, as before
    too_many = ask(client, HOLDINGS, role="auditor", id=A, first=101)
    assert too_many["errors"][0]["extensions"]["argument"] == "first"


def test_the_image_copies_every_vendored_file_the_console_serves() -> None:
    """The Dockerfile builds the assets from the lock file and copies each file VENDOR serves,
    so /console/ in the container does not answer 503 (no Docker engine runs in the tests)."""
    from pathlib import Path

    from api.console import VENDOR

    dockerfile = (Path(__file__).parents[1] / "Dockerfile").read_text()
    assert "npm ci" in dockerfile and "console/package-lock.json" in dockerfile
    assert "COPY console/src console/src" in dockerfile
    for path in VENDOR.values():
        folder = path.rsplit("/", 1)[0]
        assert (f"COPY --from=console-assets /console/node_modules/{path} "
                f"console/node_modules/{folder}/") in dockerfile, path
