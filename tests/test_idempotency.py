"""Idempotency by deal_id: the same body again is 200 with the first answer, another body 409."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from ledger.posting.commands import DealCommand
from ledger.posting.decisions import fingerprint
from tests.builders import ACME, BETA, PATENT, event_count, licence, party, patent, transfer


def _setup(client: TestClient) -> None:
    party(client, ACME)
    party(client, BETA)
    patent(client, PATENT, {ACME: "1"})


def test_same_body_again_returns_the_first_answer(client: TestClient) -> None:
    _setup(client)
    deal = transfer("deal-1", [PATENT], [ACME], {BETA: "1"})
    first = client.post("/v1/deals", json=deal)
    again = client.post("/v1/deals", json=deal)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert event_count(client) == 4


def test_same_deal_id_with_another_body_is_409(client: TestClient) -> None:
    _setup(client)
    client.post("/v1/deals", json=transfer("deal-1", [PATENT], [ACME], {BETA: "1"}))
    other = transfer("deal-1", [PATENT], [ACME], {BETA: "1"},
                     price={"amount": "1.00", "currency": "CNY"})
    response = client.post("/v1/deals", json=other)
    assert response.status_code == 409
    assert "rule" not in response.json()
    assert response.json()["facts"]["key"] == "deal:deal-1"
    assert event_count(client) == 4


def test_concurrent_duplicates_store_one_event(client: TestClient) -> None:
    _setup(client)
    deal = transfer("deal-1", [PATENT], [ACME], {BETA: "1"})
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: client.post("/v1/deals", json=deal), range(16)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 15 + [201]
    assert len({r.json()["position"] for r in responses}) == 1
    assert event_count(client) == 4


def test_party_and_patent_registration_are_idempotent_too(client: TestClient) -> None:
    _setup(client)
    again = client.post("/v1/parties", json={"id": ACME, "name": f"Party {ACME}",
                                              "kind": "enterprise"})
    assert again.status_code == 200
    changed = client.post("/v1/parties", json={"id": ACME, "name": "Another name",
                                                "kind": "enterprise"})
    assert changed.status_code == 409
    assert event_count(client) == 3


@pytest.mark.parametrize("registered_on", [None, "2020-04-01"])
@pytest.mark.parametrize("field", ["*", 'x,"registered_on":null', 'x\\",'])
def test_the_fingerprint_stays_what_stored_deals_carry(registered_on: str | None,
                                                       field: str) -> None:
    """A retry matches the fingerprint its first posting was stored with: the canonical JSON
    of the command, leaving out `registered_on` while unset (deals stored before the field
    existed), whatever the text fields hold."""
    body = licence("l1", [PATENT], [ACME], BETA, field=field, registered_on=registered_on)
    command = TypeAdapter(DealCommand).validate_python(body)
    # Fields added later are left out while unset too, as deals stored before them lack
    # them: `pool` (issue 18), the intermediaries and the official record (issue 19).
    unset = ({"registered_on"} if registered_on is None else set()) | {
        "pool", "agency", "platform", "technology_manager", "official_record"}
    canonical = command.model_dump_json(exclude=unset)
    assert fingerprint(command) == hashlib.sha256(canonical.encode()).hexdigest()
    assert ('"registered_on"' in canonical) == (registered_on is not None)
