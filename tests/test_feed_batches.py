"""Official-record feeds: `POST /v1/patents/batch` and `POST /v1/patents/status/batch`.

Each item must be judged, answered and stored exactly as its single endpoint would judge,
answer and store it; the batch adds only the deals' batch shape (rows, counts, `atomic`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi.testclient import TestClient

from ledger.posting.commands import MAX_BATCH
from ledger.service import LedgerService
from tests.builders import (
    ACME,
    BETA,
    cn_patent,
    event_count,
    filed_in_numbers_year,
    party,
    uscc,
)

REGISTRATIONS = "/v1/patents/batch"
STATUSES = "/v1/patents/status/batch"
NUMBERS = [cn_patent(2017, 1, 600_000 + i) for i in range(6)]
LAPSE = {"status": "lapsed", "effective_on": "2022-03-01",
         "reason": "annual fee not paid within the grace period (Patent Law art. 44)"}


def registration(number: str, owner: str = ACME, title: str = "Bulk feed patent"
                 ) -> dict[str, Any]:
    return {"number": number, "title": title, "filed_on": filed_in_numbers_year(number),
            "granted_on": "2019-01-08", "owners": [{"party": owner, "share": "1"}]}


def change(number: str, **body: Any) -> dict[str, Any]:
    return {"number": number, **LAPSE, **body}


def _registered(client: TestClient, count: int = 3) -> list[str]:
    party(client, ACME)
    party(client, BETA)
    response = client.post(REGISTRATIONS, json={"patents": [registration(n)
                                                            for n in NUMBERS[:count]]})
    assert response.status_code == 200 and response.json()["stored"] == count, response.text
    return NUMBERS[:count]


def _payload(event: Any, *naming: str) -> dict[str, Any]:
    """An event's members, less those that name its patent or its moment in the log."""
    left_out = {"originator_id", "timestamp", "number", *naming}
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event)
            if f.name not in left_out}


# --- registrations ----------------------------------------------------------------------


def test_a_registration_batch_stores_each_patent_and_answers_a_row_each(
        client: TestClient) -> None:
    party(client, ACME)
    before = event_count(client)
    response = client.post(REGISTRATIONS, json={"patents": [registration(n)
                                                            for n in NUMBERS[:3]]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["atomic"], body["stored"], body["replayed"], body["failed"]) == (False, 3, 0, 0)
    rows = body["results"]
    assert [(r["index"], r["status"], r["number"]) for r in rows] == [
        (i, 201, n) for i, n in enumerate(NUMBERS[:3])]
    assert [r["events"][0]["type"] for r in rows] == ["PatentRegistered"] * 3
    assert [r["position"] for r in rows] == sorted(r["position"] for r in rows)
    assert event_count(client) == before + 3
    # The register holds them: a status change of one is judged (single endpoint), stored.
    assert client.post(f"/v1/patents/{NUMBERS[1]}/status", json=LAPSE).status_code == 201


def test_a_replayed_registration_batch_answers_200_rows_and_stores_nothing(
        client: TestClient) -> None:
    party(client, ACME)
    feed = {"patents": [registration(n) for n in NUMBERS[:3]], "atomic": True}
    first = client.post(REGISTRATIONS, json=feed).json()
    before = event_count(client)
    again = client.post(REGISTRATIONS, json=feed)
    assert again.status_code == 200
    body = again.json()
    assert (body["stored"], body["replayed"], body["failed"]) == (0, 3, 0)
    assert [r["status"] for r in body["results"]] == [200] * 3
    assert [r["position"] for r in body["results"]] == [r["position"] for r in first["results"]]
    assert event_count(client) == before


def test_a_registration_is_the_same_posting_singly_or_in_a_batch(
        client: TestClient, service: LedgerService) -> None:
    """The same key and fingerprint (each replays the other: 200), and the same event."""
    party(client, ACME)
    single, batched = NUMBERS[0], NUMBERS[1]
    head = service.store.head()
    assert client.post("/v1/patents", json=registration(single)).status_code == 201
    assert client.post(REGISTRATIONS, json={"patents": [registration(batched)]}
                       ).json()["stored"] == 1
    assert client.post("/v1/patents", json=registration(batched)).status_code == 200
    replay = client.post(REGISTRATIONS, json={"patents": [registration(single)]}).json()
    assert replay["replayed"] == 1 and replay["results"][0]["status"] == 200
    events = [event for _, event in service.store.read_all(head)]
    assert [type(e).__name__ for e in events] == ["PatentRegistered"] * 2
    assert _payload(events[0], "fingerprint") == _payload(events[1], "fingerprint")


def test_unlawful_registrations_are_refused_and_the_others_stored(client: TestClient) -> None:
    _registered(client, 1)
    before = event_count(client)
    feed = [registration(NUMBERS[1]),
            registration(NUMBERS[2], owner=uscc(99)),  # an unknown owner: 422
            registration(NUMBERS[0], title="Another title"),  # its number, another body: 409
            registration(NUMBERS[3])]
    response = client.post(REGISTRATIONS, json={"patents": feed})
    assert response.status_code == 200, response.text
    body = response.json()
    rows = body["results"]
    assert [r["status"] for r in rows] == [201, 422, 409, 201]
    assert rows[1]["errors"][0]["path"] == ["body", "owners", 0, "party"]
    assert rows[1]["number"] == NUMBERS[2]
    assert rows[2]["type"].endswith("idempotency-conflict") and rows[2]["facts"]["first_position"]
    assert (body["stored"], body["failed"]) == (2, 2)
    assert event_count(client) == before + 2


def test_an_atomic_registration_batch_with_one_bad_item_stores_nothing(
        client: TestClient) -> None:
    party(client, ACME)
    before = event_count(client)
    feed = [registration(NUMBERS[0]), registration(NUMBERS[1], owner=uscc(99))]
    response = client.post(REGISTRATIONS, json={"patents": feed, "atomic": True})
    assert response.status_code == 422, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == [424, 422]
    assert body["stored"] == 0 and body["results"][0]["failed_at"] == 1
    assert event_count(client) == before
    assert client.post("/v1/patents", json=feed[0]).status_code == 201  # not stored before


# --- status changes ---------------------------------------------------------------------


def test_a_status_batch_stores_each_change_judged_in_order(client: TestClient) -> None:
    numbers = _registered(client)
    before = event_count(client)
    feed = [change(numbers[0]), change(numbers[1]),
            change(numbers[0], status="restored", effective_on="2022-05-01"),  # sees the lapse
            change(numbers[2], status="preserved", effective_on="2022-04-01")]
    response = client.post(STATUSES, json={"changes": feed})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["stored"], body["replayed"], body["failed"]) == (4, 0, 0)
    rows = body["results"]
    assert [(r["index"], r["status"], r["number"]) for r in rows] == [
        (0, 201, numbers[0]), (1, 201, numbers[1]), (2, 201, numbers[0]), (3, 201, numbers[2])]
    assert rows[2]["events"] == [{"position": rows[2]["position"],
                                  "type": "PatentStatusChanged"}]
    assert event_count(client) == before + 4
    again = client.post(f"/v1/patents/{numbers[1]}/status", json=LAPSE)  # it has lapsed
    assert again.status_code == 409 and again.json()["facts"]["status"] == "lapsed"


def test_unlawful_status_changes_are_refused_by_their_rule_and_the_others_stored(
        client: TestClient) -> None:
    numbers = _registered(client)
    before = event_count(client)
    unknown = NUMBERS[5]
    feed = [change(numbers[0]),
            change(unknown),  # no such patent: 422, as the single endpoint answers
            change(numbers[0], effective_on="2022-06-01"),  # INV-4: already lapsed
            change(numbers[1], status="granted", effective_on="2020-01-01"),  # INV-4: granted
            change(numbers[2])]
    response = client.post(STATUSES, json={"changes": feed})
    assert response.status_code == 200, response.text
    rows = response.json()["results"]
    assert [r["status"] for r in rows] == [201, 422, 409, 409, 201]
    assert rows[1]["errors"] == [{"path": ["body", "number"],
                                  "message": f"unknown patent {unknown}"}]
    assert rows[1]["number"] == unknown
    assert (rows[2]["rule"], rows[2]["facts"]["status"]) == ("INV-4", "lapsed")
    assert rows[3]["rule"] == "INV-4" and "already granted" in rows[3]["detail"]
    assert event_count(client) == before + 2
    # The single endpoint answers the refused item alike.
    single = client.post(f"/v1/patents/{numbers[0]}/status", json=LAPSE)
    assert single.status_code == 409 and single.json()["rule"] == "INV-4"


def test_an_atomic_status_batch_with_one_refusal_stores_nothing(client: TestClient) -> None:
    numbers = _registered(client)
    before = event_count(client)
    feed = [change(numbers[0]), change(numbers[1]),
            change(numbers[0], status="fee_grace", effective_on="2022-04-01")]  # INV-4
    response = client.post(STATUSES, json={"changes": feed, "atomic": True})
    assert response.status_code == 409, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == [424, 424, 409]
    assert body["results"][2]["rule"] == "INV-4" and body["stored"] == 0
    assert event_count(client) == before
    assert client.post(f"/v1/patents/{numbers[0]}/status", json=LAPSE).status_code == 201


def test_a_replayed_status_batch_stores_nothing_as_the_single_endpoint(
        client: TestClient) -> None:
    """A status change has no idempotency key (neither has the single endpoint's): posted
    again, each change its patent has already made is refused by INV-4."""
    numbers = _registered(client)
    feed = {"changes": [change(n) for n in numbers]}
    assert client.post(STATUSES, json=feed).json()["stored"] == 3
    before = event_count(client)
    again = client.post(STATUSES, json=feed)
    assert again.status_code == 200
    body = again.json()
    assert (body["stored"], body["replayed"], body["failed"]) == (0, 0, 3)
    assert {r["rule"] for r in body["results"]} == {"INV-4"}
    assert event_count(client) == before


def test_a_status_change_is_the_same_event_singly_or_in_a_batch(
        client: TestClient, service: LedgerService) -> None:
    numbers = _registered(client, 2)
    head = service.store.head()
    assert client.post(f"/v1/patents/{numbers[0]}/status", json=LAPSE).status_code == 201
    assert client.post(STATUSES, json={"changes": [change(numbers[1])]}).json()["stored"] == 1
    events = [event for _, event in service.store.read_all(head)]
    assert [(type(e).__name__, e.number) for e in events] == [
        ("PatentStatusChanged", numbers[0]), ("PatentStatusChanged", numbers[1])]
    assert _payload(events[0]) == _payload(events[1])
    assert events[1].status == "lapsed" and events[1].reason == LAPSE["reason"]


# --- shape and bounds ---------------------------------------------------------------------


def test_a_batch_of_the_wrong_shape_is_422_and_stores_nothing(client: TestClient) -> None:
    numbers = _registered(client, 1)
    before = event_count(client)
    bad_bodies = [
        (STATUSES, {"changes": [change(numbers[0]), change("not-a-number")]}, "number"),
        (STATUSES, {"changes": [change(numbers[0], status="invalidation_decided",
                                       effective_on="2022-01-01")]}, "changes.0"),
        (STATUSES, {"changes": [change(numbers[0])], "atomic": 1}, "atomic"),
        (STATUSES, {"changes": []}, "changes"),
        (REGISTRATIONS, {"patents": [registration(NUMBERS[1]), {"number": NUMBERS[2]}]},
         "title"),
        (REGISTRATIONS, {"patents": [registration(NUMBERS[1])], "extra": True}, "extra"),
    ]
    for path, body, field in bad_bodies:
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
        paths = [".".join(map(str, e["path"])) for e in response.json()["errors"]]
        assert any(field in p for p in paths), (field, paths)
    assert event_count(client) == before


def test_a_batch_over_the_bound_is_422_and_stores_nothing(client: TestClient) -> None:
    numbers = _registered(client, 1)
    before = event_count(client)
    too_many = {"changes": [change(numbers[0])] * (MAX_BATCH + 1)}
    response = client.post(STATUSES, json=too_many)
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == ["body", "changes"]
    assert f"at most {MAX_BATCH}" in response.text
    feed = {"patents": [registration(NUMBERS[1])] * (MAX_BATCH + 1)}
    assert client.post(REGISTRATIONS, json=feed).status_code == 422
    assert event_count(client) == before
