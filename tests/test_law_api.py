"""The law as amended by domain.md s9 (issue 17) through the REST API and GraphQL.

Each case is refused or flagged, beside a near case the law accepts; a refusal is 409 naming
its rule (or 422 naming the field) and stores nothing. The rules themselves are held on plain
state in tests/test_law_plain.py; docs/law.md explains each reading.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.projectors import Projectors
from tests.builders import (
    assert_refused,
    cn_patent,
    licence,
    party,
    patent,
    pledge,
    refused_by_rule,
    transfer,
    uscc,
)
from tests.ledger_fixtures import answered

A, B, C, BANK = uscc(171), uscc(172), uscc(173), uscc(174)
APPLIED = cn_patent(2019, 1, 170001)  # an invention application filed 2019-07-20
LATE = cn_patent(2017, 1, 170002)  # filed 2017-07-20, granted 2022-03-01: 224 days late
EARLY = cn_patent(2017, 1, 170003)  # filed 2017-07-20, granted 2019-01-08
UM = cn_patent(2019, 2, 170004)  # a utility model filed 2019-07-20
LATE_EXPIRES = "2037-07-19"


@pytest.fixture
def ledger(client: TestClient) -> TestClient:
    for p in (A, B, C):
        party(client, p)
    party(client, BANK, kind="bank")
    response = client.post("/v1/patents", json={
        "number": APPLIED, "title": "An application", "filed_on": "2019-07-20",
        "owners": [{"party": A, "share": "1"}], "status": "pending"})
    assert response.status_code == 201, response.text
    patent(client, LATE, {A: "1"}, granted_on="2022-03-01")
    patent(client, EARLY, {A: "1"})
    patent(client, UM, {A: "1"}, granted_on="2020-01-08")
    return client


def refused(client: TestClient, body: dict[str, Any], path: str = "/v1/deals",
            rule: str = "INV-4") -> dict[str, Any]:
    return refused_by_rule(client, body, rule, path)


def accepted(client: TestClient, body: dict[str, Any], path: str = "/v1/deals"
             ) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def status(number: str, value: str, on: str, **extra: Any) -> tuple[dict[str, Any], str]:
    return {"status": value, "effective_on": on, **extra}, f"/v1/patents/{number}/status"


gql = partial(answered, role="auditor")  # GraphQL data, as an auditor unless `role` says


PATENT = "query($n: String!) { patent(number: $n) { status grantedOn expiresOn } }"


def open_licence(deal_id: str, number: str, **extra: Any) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": "open_licence_declaration", "effective_on": "2023-01-01",
            "patents": [number], "owners": [A], "fee": {"mode": "royalty", "rate": "0.02"},
            "starts_on": "2023-01-01", "ends_on": "2025-12-31", **extra}


# --- item 3: deals before grant ------------------------------------------------------------


def test_an_application_is_transferred_but_not_pledged_until_granted(
        ledger: TestClient, projectors: Projectors) -> None:
    assert gql(ledger, projectors, PATENT, n=APPLIED)["patent"] == {
        "status": "pending", "grantedOn": None, "expiresOn": "2039-07-19"}
    facts = refused(ledger, pledge("p1", [APPLIED], [A], BANK, "2020-06-01"), rule="INV-4")
    assert facts["stage"] == "application" and facts["status"] == "pending"
    refused(ledger, open_licence("o1", APPLIED), rule="INV-4")
    accepted(ledger, transfer("t1", [APPLIED], [A], {B: "1"}, "2020-03-01"))
    accepted(ledger, licence("l1", [APPLIED], [B], C, starts_on="2020-04-01"))
    accepted(ledger, {"deal_id": "e1", "kind": "equity_contribution", "effective_on": "2020-05-01",
                      "patents": [APPLIED], "from_parties": [B], "company": C,
                      "valuation": {"amount": "800000", "currency": "CNY"}})
    # The grant, recorded later; then the patent right may be pledged.
    body, path = status(APPLIED, "granted", "2021-09-01")
    assert accepted(ledger, body, path)["status"] == "granted"
    refused(ledger, *status(APPLIED, "granted", "2021-10-01"))  # granted once
    refused(ledger, pledge("p2", [APPLIED], [C], BANK, "2021-08-31"), rule="INV-4")
    accepted(ledger, pledge("p3", [APPLIED], [C], BANK, "2021-09-01"))
    assert gql(ledger, projectors, PATENT, n=APPLIED)["patent"] == {
        "status": "in_force", "grantedOn": "2021-09-01", "expiresOn": "2039-07-19"}


def test_a_pending_registration_states_no_grant_date(ledger: TestClient) -> None:
    body = {"number": cn_patent(2019, 1, 170009), "title": "Contradictory",
            "filed_on": "2019-07-20", "granted_on": "2020-01-01", "status": "pending",
            "owners": [{"party": A, "share": "1"}]}
    assert_refused(ledger, "/v1/patents", body, "body", message="no granted_on")
    accepted(ledger, {**body, "status": "granted"}, "/v1/patents")


def test_k1_splits_application_right_transfers_and_the_anomaly_rules_see_them(
        ledger: TestClient, projectors: Projectors) -> None:
    accepted(ledger, transfer("t1", [APPLIED], [A], {B: "1"}, "2020-03-01",
                              price={"amount": "1", "currency": "CNY"}))
    accepted(ledger, transfer("t2", [APPLIED], [B], {A: "1"}, "2020-05-01"))
    accepted(ledger, transfer("t3", [EARLY], [A], {B: "1"}, "2020-06-01"))
    rows = gql(ledger, projectors, """{ indicators(from: "2020-01-01", to: "2020-12-31",
        granularity: "year", excludeFlagged: false) { indicator dimension count patents } }""")
    k1 = {r["dimension"]: (r["count"], r["patents"]) for r in rows["indicators"]
          if r["indicator"] == "K1"}
    assert k1 == {"transfers": (3, 2), "application_right": (2, 1), "patent_right": (1, 1)}
    flags = gql(ledger, projectors, """{ anomalies(first: 100) { edges { node { rule
        evidence { dealId } } } } }""")["anomalies"]["edges"]
    seen = {(f["node"]["rule"], e["dealId"]) for f in flags for e in f["node"]["evidence"]}
    assert ("AR-1", "t2") in seen and ("AR-5", "t1") in seen  # a round trip, a nominal price


# --- item 4: INV-13 from signed_on ---------------------------------------------------------


def test_inv_13_counts_three_months_from_signing(ledger: TestClient) -> None:
    signed = {"signed_on": "2020-01-01", "starts_on": "2020-06-01", "effective_on": "2020-06-01"}
    late = accepted(ledger, licence("l1", [EARLY], [A], B, filed_on="2020-04-02", **signed))
    assert late["flags"] == ["INV-13"]
    on_time = accepted(ledger, licence("l2", [EARLY], [A], C, filed_on="2020-04-01", **signed))
    assert "flags" not in on_time
    unsigned = accepted(ledger, licence("l3", [EARLY], [A], C, starts_on="2020-06-01",
                                        filed_on="2020-04-02", field="optics"))
    assert "flags" not in unsigned  # no signing date: three months from starts_on


# --- item 5: term compensation -------------------------------------------------------------


def extension(extension_id: str = "x1", days: int = 100, basis: str = "grant_delay",
              on: str = "2022-05-01") -> dict[str, Any]:
    return {"extension_id": extension_id, "days": days, "basis": basis, "effective_on": on}


def test_a_licence_lawful_only_with_the_term_extension(
        ledger: TestClient, projectors: Projectors) -> None:
    beyond = licence("l1", [LATE], [A], B, starts_on="2022-06-01", ends_on="2037-10-27")
    facts = refused(ledger, beyond, rule="INV-5")
    assert facts["expires_on"] == LATE_EXPIRES
    path = f"/v1/patents/{LATE}/term-extensions"
    answer = accepted(ledger, extension(), path)
    assert answer["extension_id"] == "x1" and answer["number"] == LATE
    assert ledger.post(path, json=extension()).status_code == 200  # idempotent
    assert ledger.post(path, json=extension(days=101)).status_code == 409  # same id, new body
    assert gql(ledger, projectors, PATENT, n=LATE)["patent"]["expiresOn"] == "2037-10-27"
    accepted(ledger, beyond)
    refused(ledger, {**beyond, "deal_id": "l2", "ends_on": "2037-10-28", "field": "optics"},
            rule="INV-5")


def test_term_compensation_is_refused_outside_article_42(ledger: TestClient) -> None:
    facts = refused(ledger, extension(days=225), rule="INV-5",
                    path=f"/v1/patents/{LATE}/term-extensions")
    assert facts["days"] == 225
    # 224.0 is the whole number JSON Schema's `integer` accepts; a fraction, a string or a
    # boolean is not a number of days.
    for days in (224.5, "224", True):
        assert_refused(ledger, f"/v1/patents/{LATE}/term-extensions",
                       extension("x1", days=days), "days")  # type: ignore[arg-type]
    accepted(ledger, extension(days=224.0), f"/v1/patents/{LATE}/term-extensions")  # type: ignore[arg-type]
    facts = refused(ledger, extension(), rule="INV-5", path=f"/v1/patents/{EARLY}/term-extensions")
    assert facts["granted_on"] == "2019-01-08"  # granted before 2021-06-01
    refused(ledger, extension(), rule="INV-5", path=f"/v1/patents/{UM}/term-extensions")
    refused(ledger, extension(), rule="INV-5", path=f"/v1/patents/{APPLIED}/term-extensions")
    assert_refused(ledger, f"/v1/patents/{LATE}/term-extensions",
                   extension("x2", basis="politics"), "basis")
    assert_refused(ledger, f"/v1/patents/{LATE}/term-extensions", extension("x3", days=0),
                   "days")


# --- item 6: short open licences, evaluation reports -----------------------------------------


def test_a_short_open_licence_is_flagged_and_counted_in_k10(
        ledger: TestClient, projectors: Projectors) -> None:
    short = accepted(ledger, open_licence("o1", EARLY, ends_on="2023-06-30"))
    assert short["flags"] == ["INV-5"]
    rows = gql(ledger, projectors, """{ indicators(from: "2023-01-01", to: "2023-12-31",
        granularity: "year", excludeFlagged: false) { indicator dimension count } }""")
    k10 = {r["dimension"]: r["count"] for r in rows["indicators"] if r["indicator"] == "K10"}
    assert k10.get("short_open_licences") == 1


def test_a_utility_model_declaration_names_its_evaluation_report(ledger: TestClient) -> None:
    facts = refused(ledger, open_licence("o1", UM), rule="INV-7")
    assert facts["kind"] == "utility_model" and facts["evaluation_report"] is None
    answer = accepted(ledger, open_licence("o2", UM, evaluation_report="PJ-2020-0001"))
    assert "flags" not in answer


# --- item 7: invalidation pending ----------------------------------------------------------


def test_no_pledge_while_invalidation_is_pending_unless_acknowledged(
        ledger: TestClient, projectors: Projectors) -> None:
    pending = "query($n: String!) { patent(number: $n) { invalidationPending status } }"
    assert gql(ledger, projectors, pending, n=EARLY)["patent"]["invalidationPending"] is False
    accepted(ledger, *status(EARLY, "invalidation_requested", "2020-01-01"))
    shown = gql(ledger, projectors, pending, n=EARLY)["patent"]
    assert shown == {"invalidationPending": True, "status": "in_force"}, shown
    facts = refused(ledger, pledge("p1", [EARLY], [A], BANK, "2020-06-01"), rule="INV-4")
    assert facts["invalidation_pending"] is True
    accepted(ledger, pledge("p2", [EARLY], [A], BANK, "2020-06-01",
                            invalidation_acknowledged=True))
    assert_refused(ledger, f"/v1/patents/{EARLY}/status",
                   {"status": "invalidation_decided", "effective_on": "2020-09-01"}, "body",
                   message="outcome")
    accepted(ledger, *status(EARLY, "invalidation_decided", "2020-09-01", outcome="upheld"))
    assert gql(ledger, projectors, pending, n=EARLY)["patent"]["invalidationPending"] is False
    refused(ledger, *status(EARLY, "invalidation_decided", "2020-10-01", outcome="upheld"))


def test_an_invalidating_decision_ends_the_patent(ledger: TestClient) -> None:
    accepted(ledger, *status(LATE, "invalidation_requested", "2022-06-01"))
    accepted(ledger, *status(LATE, "invalidation_decided", "2022-09-01",
                             outcome="invalidated"))
    facts = refused(ledger, transfer("t1", [LATE], [A], {B: "1"}, "2022-10-01"), rule="INV-4")
    assert facts["status"] == "invalidated"
    accepted(ledger, transfer("t2", [LATE], [A], {B: "1"}, "2022-08-31"))


# --- item 9: Chinese effective dates -------------------------------------------------------


def test_a_chinese_transfer_takes_effect_on_registration(ledger: TestClient) -> None:
    assert_refused(ledger, "/v1/deals", transfer("t1", [EARLY], [A], {B: "1"}, "2020-03-01",
                                                 registered_on="2020-03-05"),
                   "registered_on", message="registration")
    assert_refused(ledger, "/v1/deals", pledge("p1", [EARLY], [A], BANK, "2020-06-01",
                                               registered_on="2020-05-30"), "registered_on")
    accepted(ledger, transfer("t2", [EARLY], [A], {B: "1"}, "2020-03-01",
                              registered_on="2020-03-01"))
    # A licence takes effect by contract: its filing (备案) may be recorded on another day.
    accepted(ledger, licence("l1", [EARLY], [B], C, starts_on="2020-04-01",
                             registered_on="2020-05-10"))
