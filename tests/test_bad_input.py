"""Bad input of every kind gets a specific 422 (or 413) and stores nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.builders import ACME, BETA, PATENT, event_count, transfer


def _assert_refused_422(client: TestClient, path: str, body: Any, field: str,
                        message: str) -> None:
    before = event_count(client)
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    paths = [".".join(map(str, e["path"])) for e in problem["errors"]]
    assert any(field in p for p in paths), paths
    assert message in problem["detail"], problem["detail"]
    assert event_count(client) == before


def test_wrong_check_character_in_a_patent_number(registered: TestClient) -> None:
    body = transfer("d1", ["201710601862.4"], [ACME], {BETA: "1"})
    _assert_refused_422(registered, "/v1/deals", body, "patents.0", "check character")


def test_bad_unified_social_credit_code(client: TestClient) -> None:
    body = {"id": "91350100M000100Y44", "name": "Bad", "kind": "enterprise"}
    _assert_refused_422(client, "/v1/parties", body, "id", "check character")


def test_negative_money(registered: TestClient) -> None:
    body = transfer("d1", [PATENT], [ACME], {BETA: "1"},
                    price={"amount": "-1.00", "currency": "CNY"})
    _assert_refused_422(registered, "/v1/deals", body, "price.amount", "greater than or equal")


def test_currency_outside_iso_4217(registered: TestClient) -> None:
    body = transfer("d1", [PATENT], [ACME], {BETA: "1"},
                    price={"amount": "1.00", "currency": "RMB"})
    _assert_refused_422(registered, "/v1/deals", body, "price.currency", "ISO 4217")


def test_shares_not_summing_to_one(registered: TestClient) -> None:
    body = transfer("d1", [PATENT], [ACME], {BETA: "0.5", "91350100M000100Y43": "0.4"})
    _assert_refused_422(registered, "/v1/deals", body, "to_parties", "sum to 0.9")


def test_unknown_party(registered: TestClient) -> None:
    from tests.builders import uscc

    stranger = uscc(424242)
    body = transfer("d1", [PATENT], [ACME], {stranger: "1"})
    _assert_refused_422(registered, "/v1/deals", body, "to_parties.0.party",
                        f"unknown party {stranger}")


def test_unknown_patent(registered: TestClient) -> None:
    from tests.builders import cn_patent

    number = cn_patent(2018, 1, 1234567)
    body = transfer("d1", [number], [ACME], {BETA: "1"})
    _assert_refused_422(registered, "/v1/deals", body, "patents.0", f"unknown patent {number}")


def test_unknown_kind(registered: TestClient) -> None:
    body = {**transfer("d1", [PATENT], [ACME], {BETA: "1"}), "kind": "gift_of_god"}
    _assert_refused_422(registered, "/v1/deals", body, "body", "does not match any of the expected tags")


def test_dates_out_of_order(registered: TestClient) -> None:
    body = transfer("d1", [PATENT], [ACME], {BETA: "1"}, signed_on="2021-01-01",
                    effective_on="2020-01-01")
    _assert_refused_422(registered, "/v1/deals", body, "body", "signed_on is after effective_on")


def test_oversized_batch(registered: TestClient) -> None:
    deals = [transfer(f"d{i}", [PATENT], [ACME], {BETA: "1"}) for i in range(1001)]
    _assert_refused_422(registered, "/v1/deals/batch", {"deals": deals}, "deals",
                        "at most 1000 items")


def test_too_many_patents_in_one_deal(registered: TestClient) -> None:
    from tests.builders import cn_patent

    numbers = [cn_patent(2018, 1, i) for i in range(101)]
    _assert_refused_422(registered, "/v1/deals", transfer("d1", numbers, [ACME], {BETA: "1"}),
                        "patents", "at most 100 items")


def test_malformed_json(registered: TestClient) -> None:
    before = event_count(registered)
    response = registered.post("/v1/deals", content=b'{"deal_id": "d1", "kind": ',
                               headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "json_invalid"
    assert event_count(registered) == before


def test_unknown_field_is_refused_not_ignored(registered: TestClient) -> None:
    body = {**transfer("d1", [PATENT], [ACME], {BETA: "1"}), "prize": "typo"}
    _assert_refused_422(registered, "/v1/deals", body, "prize", "Extra inputs are not permitted")


def test_body_over_the_limit_is_413(registered: TestClient) -> None:
    before = event_count(registered)
    body = {**transfer("d1", [PATENT], [ACME], {BETA: "1"}), "padding": "x" * 300_000}
    response = registered.post("/v1/deals", json=body)
    assert response.status_code == 413
    assert response.json()["limit"] == 256 * 1024
    assert event_count(registered) == before
