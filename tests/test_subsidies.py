"""Subsidies under issue 17 through the public API: AR-13 flags an award to a party on a
regulator's list that day (and not one a listing ended before or started after), and a
regulator records a subsidy's recovery (clawback), refused by INV-18 beyond what was paid or
in another currency, idempotent, and counted in K10 (domain.md s9)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.projectors import Projectors
from tests.builders import event_count, party, uscc
from tests.ledger_fixtures import answered, auth

LISTED, ENDED, LATER, CLEAN = (uscc(70 + i) for i in range(4))
FLAGS = """{ anomalies(filter: {rule: "AR-13"}, first: 100) { edges { node {
    rule explanation parties { id } evidence { position kind } } } } }"""
K10 = """query($from: Date!, $to: Date!, $region: String) {
  indicators(from: $from, to: $to, granularity: "year", region: $region) {
    indicator period dimension count amount } }"""


def post(client: TestClient, path: str, body: dict[str, Any], role: str = "regulator"
         ) -> Any:
    return client.post(path, json=body, headers=auth(role))


ask = answered  # GraphQL data, as a regulator unless `role` says


def award(client: TestClient, subsidy_id: str, who: str, awarded_on: str,
          amount: str = "100000", currency: str = "CNY") -> None:
    response = post(client, "/v1/subsidies", {
        "subsidy_id": subsidy_id, "party": who, "programme": "conversion award",
        "amount": {"amount": amount, "currency": currency}, "awarded_on": awarded_on})
    assert response.status_code == 201, response.text


def listing(client: TestClient, listing_id: str, who: str, starts_on: str,
            ends_on: str | None = None) -> None:
    response = post(client, "/v1/listings", {
        "listing_id": listing_id, "party": who, "list": "dishonest",
        "grounds": "subsidy obtained by a sham transfer", "starts_on": starts_on,
        "ends_on": ends_on})
    assert response.status_code == 201, response.text


@pytest.fixture
def parties(client: TestClient) -> TestClient:
    for who, region in ((LISTED, "410000"), (ENDED, "410000"), (LATER, "410000"),
                        (CLEAN, "110000")):
        party(client, who, region=region)
    return client


# --- AR-13 ------------------------------------------------------------------------------------


def test_ar_13_flags_a_subsidy_to_a_party_listed_that_day_and_not_its_near_misses(
        parties: TestClient, projectors: Projectors) -> None:
    client = parties
    listing(client, "L-ON", LISTED, "2024-03-01", "2026-02-28")
    award(client, "S-ON", LISTED, "2024-05-01")
    # Near misses: a listing that ended (early) before the award, one that starts after it.
    listing(client, "L-ENDED", ENDED, "2023-01-01", "2025-12-31")
    response = post(client, "/v1/listings/L-ENDED/end", {"ended_on": "2024-04-30"})
    assert response.status_code == 201, response.text
    award(client, "S-ENDED", ENDED, "2024-05-01")
    award(client, "S-LATER", LATER, "2024-05-01")
    listing(client, "L-LATER", LATER, "2024-05-02")
    found = ask(client, projectors, FLAGS)["anomalies"]["edges"]
    assert [(f["node"]["rule"], [p["id"] for p in f["node"]["parties"]]) for f in found] == [
        ("AR-13", [LISTED])]
    flag = found[0]["node"]
    assert {e["kind"] for e in flag["evidence"]} == {"subsidy", "listing"}
    assert "S-ON" in flag["explanation"] and "L-ON" in flag["explanation"]


def test_ar_13_follows_a_listing_recorded_after_the_award(
        parties: TestClient, projectors: Projectors) -> None:
    """A listing posted later but starting before the award re-judges the party's subsidies."""
    client = parties
    award(client, "S-1", LISTED, "2024-05-01")
    assert ask(client, projectors, FLAGS)["anomalies"]["edges"] == []
    listing(client, "L-BACK", LISTED, "2024-01-01")
    found = ask(client, projectors, FLAGS)["anomalies"]["edges"]
    assert [f["node"]["rule"] for f in found] == ["AR-13"]


# --- recovery ---------------------------------------------------------------------------------


def recover(client: TestClient, subsidy_id: str, amount: str, recovered_on: str = "2024-09-01",
            currency: str = "CNY", grounds: str = "sham transfer confirmed",
            role: str = "regulator") -> Any:
    return post(client, f"/v1/subsidies/{subsidy_id}/recovery", {
        "amount": {"amount": amount, "currency": currency}, "recovered_on": recovered_on,
        "grounds": grounds}, role)


def test_a_recovery_is_recorded_and_the_same_body_again_is_the_same_recovery(
        parties: TestClient) -> None:
    client = parties
    award(client, "S-1", CLEAN, "2024-05-01")
    first = recover(client, "S-1", "60000")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["subsidy_id"] == "S-1" and body["recovery_id"] == "S-1:1"
    assert body["events"][0]["type"] == "SubsidyRecovered"
    before = event_count(client)
    again = recover(client, "S-1", "60000")
    assert again.status_code == 200 and again.json() == body
    assert event_count(client) == before
    # The rest, on other grounds: accepted, up to exactly what was paid.
    rest = recover(client, "S-1", "40000", grounds="interest on the sham transfer's award")
    assert rest.status_code == 201 and rest.json()["recovery_id"] == "S-1:2"


def test_inv_18_refuses_more_than_was_paid_less_earlier_recoveries(
        parties: TestClient) -> None:
    client = parties
    award(client, "S-1", CLEAN, "2024-05-01")
    assert recover(client, "S-1", "60000").status_code == 201
    before = event_count(client)
    refused = recover(client, "S-1", "40000.01", grounds="second recovery")
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["rule"] == "INV-18"
    assert problem["facts"]["remaining"] == {"amount": "40000", "currency": "CNY"}
    refused = recover(client, "S-1", "10", currency="USD", grounds="second recovery")
    assert refused.status_code == 409 and refused.json()["rule"] == "INV-18"
    assert event_count(client) == before
    accepted = recover(client, "S-1", "40000", grounds="second recovery")
    assert accepted.status_code == 201, accepted.text


def test_a_recovery_of_nothing_known_or_out_of_shape_is_refused_and_stores_nothing(
        parties: TestClient) -> None:
    client = parties
    award(client, "S-1", CLEAN, "2024-05-01")
    before = event_count(client)
    missing = recover(client, "S-NONE", "10")
    assert missing.status_code == 404, missing.text
    assert "S-NONE" in missing.json()["detail"]
    zero = recover(client, "S-1", "0")
    assert zero.status_code == 422 and "above zero" in zero.text
    early = recover(client, "S-1", "10", recovered_on="2024-04-30")
    assert early.status_code == 422 and early.json()["errors"][0]["path"] == [
        "body", "recovered_on"]
    no_grounds = post(client, "/v1/subsidies/S-1/recovery", {
        "amount": {"amount": "10", "currency": "CNY"}, "recovered_on": "2024-09-01"})
    assert no_grounds.status_code == 422
    assert recover(client, "S-1", "10", role="platform").status_code == 403
    assert event_count(client) == before


def test_k10_counts_recoveries_by_the_region_of_the_party_that_repays(
        parties: TestClient, projectors: Projectors) -> None:
    client = parties
    award(client, "S-1", LISTED, "2024-05-01")
    award(client, "S-2", CLEAN, "2024-05-01")
    assert recover(client, "S-1", "30000").status_code == 201
    assert recover(client, "S-1", "20000", recovered_on="2025-02-01").status_code == 201
    assert recover(client, "S-2", "5000").status_code == 201

    def k10(region: str | None) -> dict[str, tuple[int, str]]:
        rows = ask(client, projectors, K10, **{"from": "2024-01-01", "to": "2025-12-31"},
                   region=region)["indicators"]
        return {r["period"]: (r["count"], r["amount"]) for r in rows
                if (r["indicator"], r["dimension"]) == ("K10", "subsidy_recoveries")}

    whole = k10(None)
    assert {p: c for p, (c, _) in whole.items()} == {"2024-01-01": 2, "2025-01-01": 1}
    assert whole["2024-01-01"][1] is not None and float(whole["2024-01-01"][1]) == 35000
    henan = k10("410000")
    assert {p: c for p, (c, _) in henan.items()} == {"2024-01-01": 1, "2025-01-01": 1}
