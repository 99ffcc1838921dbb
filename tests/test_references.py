"""References must exist: a finding, the end of a listing and a revoked key each name
something the ledger has (404 otherwise, nothing stored). And one idempotency setup: every
command, patents too, answers a repeat with its first answer and another body with 409."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from api.key_store import KeyStore
from projections.projectors import Projectors
from tests.builders import ACME, BETA, PATENT, event_count, party, patent, transfer
from tests.ledger_fixtures import KEYS, auth, wait_projected

FINDING = {"decision": "confirmed", "note": "sham sale"}
FLAGS = "{ anomalies(first: 10) { edges { node { id status } } } }"


def _flag(client: TestClient, projectors: Projectors) -> str:
    """An AR-5 flag (a sale for 1 CNY), projected: its id."""
    party(client, ACME)
    party(client, BETA)
    patent(client, PATENT, {ACME: "1"})
    sale = transfer("Z1", [PATENT], [ACME], {BETA: "1"}, price={"amount": "1",
                                                               "currency": "CNY"})
    assert client.post("/v1/deals", json=sale).status_code == 201
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    body = client.post("/graphql", json={"query": FLAGS}, headers=auth("regulator")).json()
    return str(body["data"]["anomalies"]["edges"][0]["node"]["id"])


@pytest.mark.parametrize("anomaly_id", ["999999999", "AR-5-000000000000", "1' OR 1=1--",
                                        "AR-5-ABCDEF012345", "x" * 100])
def test_a_finding_on_an_anomaly_never_flagged_is_refused_and_stores_nothing(
        client: TestClient, projectors: Projectors, anomaly_id: str) -> None:
    flagged = _flag(client, projectors)
    before = event_count(client)
    response = client.post(f"/v1/anomalies/{anomaly_id}/finding", json=FINDING,
                           headers=auth("regulator"))
    assert response.status_code == 404, response.text  # whatever its shape: no such flag
    assert response.headers["content-type"] == "application/problem+json"
    assert anomaly_id in response.json()["detail"]
    assert event_count(client) == before
    # The flag the ledger did raise takes the finding.
    posted = client.post(f"/v1/anomalies/{flagged}/finding", json=FINDING,
                         headers=auth("regulator"))
    assert posted.status_code == 201, posted.text
    assert event_count(client) == before + 1


def test_a_well_formed_id_no_flag_has_is_404(client: TestClient, projectors: Projectors
                                             ) -> None:
    _flag(client, projectors)
    before = event_count(client)
    response = client.post("/v1/anomalies/AR-5-0123456789ab/finding", json=FINDING,
                           headers=auth("regulator"))
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")
    assert event_count(client) == before


def test_ending_a_listing_that_does_not_exist_is_404(client: TestClient) -> None:
    party(client, ACME)
    before = event_count(client)
    response = client.post("/v1/listings/never-listed/end", json={},
                           headers=auth("regulator"))
    assert response.status_code == 404, response.text
    assert "never-listed" in response.json()["detail"]
    assert event_count(client) == before
    listed = client.post("/v1/listings", headers=auth("regulator"), json={
        "listing_id": "L1", "party": ACME, "list": "serious_dishonesty",
        "grounds": "court order", "starts_on": "2021-01-01"})
    assert listed.status_code == 201, listed.text
    assert client.post("/v1/listings/L1/end", json={},
                       headers=auth("regulator")).status_code == 201


def test_revoking_a_key_that_never_existed_is_404_and_leaves_no_row(client: TestClient
                                                                   ) -> None:
    store = KeyStore(client.app.state.service.database_url)  # type: ignore[attr-defined]
    before = store.records()
    response = client.delete("/v1/admin/keys/aaaaaaaaaaaa", headers=auth("admin"))
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert store.records() == before
    assert client.get("/v1/admin/keys", headers=auth("admin")).json() == []
    # Issued and configured keys are still revoked (once: the first time stands).
    issued = client.post("/v1/admin/keys", headers=auth("admin"), json={"role": "platform"})
    key_id = issued.json()["key_id"]
    first = client.delete(f"/v1/admin/keys/{key_id}", headers=auth("admin"))
    again = client.delete(f"/v1/admin/keys/{key_id}", headers=auth("admin"))
    assert first.status_code == again.status_code == 200
    assert first.json()["revoked_at"] == again.json()["revoked_at"]
    auditor = hashlib.sha256(KEYS["auditor"].encode()).hexdigest()[:12]
    assert client.delete(f"/v1/admin/keys/{auditor}", headers=auth("admin")).status_code == 200
    assert all(r.role is not None for r in store.records() if r.key_id != auditor)


# --- one idempotency setup --------------------------------------------------------------

PATENT_BODY = {"number": PATENT, "title": f"Patent {PATENT}", "filed_on": "2017-07-20",
               "granted_on": "2019-01-08", "owners": [{"party": ACME, "share": "1"}]}


def test_a_patent_registered_again_replays_or_conflicts_like_every_command(
        client: TestClient) -> None:
    party(client, ACME)
    party(client, BETA)
    first = client.post("/v1/patents", json=PATENT_BODY)
    assert first.status_code == 201
    again = client.post("/v1/patents", json=PATENT_BODY)
    assert again.status_code == 200 and again.json() == first.json()
    for changed in ({**PATENT_BODY, "title": "Another title"},
                    {**PATENT_BODY, "owners": [{"party": BETA, "share": "1"}]}):
        response = client.post("/v1/patents", json=changed)
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["type"].endswith("/idempotency-conflict") and "rule" not in body
        assert body["facts"] == {"key": f"patent:{PATENT}",
                                 "first_position": first.json()["position"]}
    assert event_count(client) == 3


@pytest.mark.parametrize(("path", "body", "changed", "role"), [
    ("/v1/parties", {"id": ACME, "name": "Acme", "kind": "enterprise"},
     {"name": "Acme Two"}, "platform"),
    ("/v1/subsidies", {"subsidy_id": "S1", "party": ACME, "programme": "p",
                       "amount": {"amount": "10", "currency": "CNY"},
                       "awarded_on": "2021-01-01"}, {"programme": "q"}, "regulator"),
    ("/v1/listings", {"listing_id": "L1", "party": ACME, "list": "serious_dishonesty",
                      "grounds": "court order", "starts_on": "2021-01-01"},
     {"grounds": "another order"}, "regulator"),
])
def test_every_keyed_command_answers_a_repeat_and_a_conflict_alike(
        client: TestClient, path: str, body: dict[str, object], changed: dict[str, object],
        role: str) -> None:
    if path != "/v1/parties":
        party(client, ACME)
    first = client.post(path, json=body, headers=auth(role))
    assert first.status_code == 201, first.text
    assert client.post(path, json=body, headers=auth(role)).json() == first.json()
    conflict = client.post(path, json={**body, **changed}, headers=auth(role))
    assert conflict.status_code == 409 and "rule" not in conflict.json()
    assert conflict.json()["facts"]["first_position"] == first.json()["position"]


# --- batches count honestly ---------------------------------------------------------------


def test_a_batch_counts_replays_apart_from_new_events(client: TestClient) -> None:
    party(client, ACME)
    party(client, BETA)
    patent(client, PATENT, {ACME: "1"})
    sale = transfer("T1", [PATENT], [ACME], {BETA: "1"})
    back = transfer("T2", [PATENT], [BETA], {ACME: "1"}, effective_on="2020-06-01")
    assert client.post("/v1/deals", json=sale).status_code == 201
    before = event_count(client)
    for atomic in (False, True):
        response = client.post("/v1/deals/batch", json={"deals": [sale, back, back],
                                                         "atomic": atomic})
        body = response.json()
        assert response.status_code == 200, body
        assert [r["status"] for r in body["results"]] == ([200, 201, 200] if not atomic
                                                          else [200, 200, 200])
        assert (body["stored"], body["replayed"], body["failed"]) == (
            (1, 2, 0) if not atomic else (0, 3, 0))
    assert event_count(client) == before + 1


@pytest.mark.parametrize("atomic", [False, True])
def test_a_conflict_inside_one_batch_names_the_earlier_index(client: TestClient,
                                                             atomic: bool) -> None:
    party(client, ACME)
    party(client, BETA)
    patent(client, PATENT, {ACME: "1"})
    sale = transfer("T1", [PATENT], [ACME], {BETA: "1"})
    cheaper = transfer("T1", [PATENT], [ACME], {BETA: "1"},
                       price={"amount": "5.00", "currency": "CNY"})
    before = event_count(client)
    response = client.post("/v1/deals/batch", json={"deals": [sale, cheaper],
                                                     "atomic": atomic})
    body = response.json()
    conflict = body["results"][1]
    assert conflict["status"] == 409 and "rule" not in conflict
    assert conflict["facts"]["first_index"] == 0
    if atomic:  # the first was taken back with the batch: it has no position
        assert response.status_code == 409 and "first_position" not in conflict["facts"]
        assert (body["stored"], body["failed"]) == (0, 2)
        assert event_count(client) == before
    else:
        assert conflict["facts"]["first_position"] == body["results"][0]["position"] > 0
        assert (body["stored"], body["replayed"], body["failed"]) == (1, 0, 1)
        assert event_count(client) == before + 1
