"""Pledge finance as banks and administrations run it (issue 19; domain.md s11), through the
public API: a pledge names its debt; a pledge change is one event (INV-12, INV-5; AR-9 does not
fire); risk-sharing payments need a defaulted pledge (INV-11) and show in the disposal's
allocation; the disposal modes the seeds name; intermediaries and official numbers."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.projectors import Projectors
from tests.builders import (
    assert_refused,
    cn_patent,
    event_count,
    licence,
    party,
    patent,
    pledge,
    refused_by_rule,
    uscc,
)
from tests.ledger_fixtures import answered, auth

OWNER, DEBTOR, GUARANTOR, INSURER, BUYER, THIRD = (uscc(200 + i) for i in range(6))
BANK, AGENCY, MANAGER, FUND = uscc(210), uscc(211), uscc(212), uscc(213)
P1 = cn_patent(2017, 1, 701001)  # invention filed 2017-07-20: expires 2037-07-19
P2 = cn_patent(2017, 1, 701002)
UM = cn_patent(2019, 2, 701003)  # utility model filed 2019-03-01: expires 2029-02-28


@pytest.fixture
def ledger(client: TestClient) -> TestClient:
    for who in (OWNER, GUARANTOR, BUYER, THIRD):
        party(client, who)
    party(client, DEBTOR, size="small")
    party(client, INSURER)
    party(client, BANK, kind="bank")
    party(client, AGENCY, kind="agency")
    party(client, FUND, kind="government")
    party(client, MANAGER, kind="individual")
    patent(client, P1, {OWNER: "1"})
    patent(client, P2, {OWNER: "1"})
    patent(client, UM, {OWNER: "1"}, filed_on="2019-03-01", granted_on="2019-09-01")
    return client


def post(client: TestClient, body: dict[str, Any], path: str = "/v1/deals",
         role: str = "platform") -> dict[str, Any]:
    response = client.post(path, json=body, headers=auth(role))
    assert response.status_code == 201, response.text
    return dict(response.json())


def change(deal_id: str, pledge_id: str, effective_on: str, **extra: Any) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": "pledge_change", "pledge": pledge_id,
            "effective_on": effective_on, **extra}


def default(deal_id: str, pledge_id: str, effective_on: str, amount: str) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": "default", "pledge": pledge_id,
            "effective_on": effective_on, "outstanding": {"amount": amount}}


def payment(event_id: str, pledge_id: str, kind: str, payer: str, amount: str,
            paid_on: str) -> dict[str, Any]:
    return {"event_id": event_id, "pledge": pledge_id, "kind": kind, "payer": payer,
            "amount": {"amount": amount, "currency": "CNY"}, "paid_on": paid_on}


def disposal(deal_id: str, pledge_id: str, mode: str, proceeds: str, effective_on: str,
             **extra: Any) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": "disposal", "pledge": pledge_id, "mode": mode,
            "proceeds": {"amount": proceeds}, "effective_on": effective_on, **extra}


ask = partial(answered, role="auditor")  # GraphQL data, as an auditor unless `role` says


def stored(client: TestClient, deal_id: str) -> dict[str, Any]:
    """The deal's event as the log holds it (its payload)."""
    response = client.get("/v1/events", params={"after": 0, "limit": 1000},
                          headers=auth("auditor"))
    [event] = [e for e in response.json()["events"] if e.get("deal_id") == deal_id]
    return dict(event)


# --- a pledge names its debt -------------------------------------------------------------------


def test_a_pledge_names_its_debtor_guarantors_insurer_and_mixed_collateral(
        ledger: TestClient) -> None:
    post(ledger, pledge("pl-debt", [P1], [OWNER], BANK, debtor=DEBTOR, guarantors=[GUARANTOR],
                        insurer=INSURER, mixed_collateral={"trademarks": 3}))
    payload = stored(ledger, "pl-debt")["payload"]
    assert payload["debtor"] == DEBTOR and payload["guarantors"] == [GUARANTOR]
    assert payload["insurer"] == INSURER
    assert payload["mixed_collateral"] == {"trademarks": 3, "other": None}


def test_a_debt_naming_an_unknown_guarantor_or_the_pledgor_as_debtor_is_refused(
        ledger: TestClient) -> None:
    assert_refused(ledger, "/v1/deals", pledge("pl-x", [P1], [OWNER], BANK,
                                               guarantors=[uscc(299)]), "guarantors.0")
    assert_refused(ledger, "/v1/deals", pledge("pl-y", [P1], [OWNER], BANK, debtor=OWNER),
                   "pledge", message="debtor names a pledgor")
    assert_refused(ledger, "/v1/deals", pledge("pl-z", [P1], [OWNER], BANK,
                                               mixed_collateral={"trademarks": 0}),
                   "mixed_collateral", message="names trademarks")


# --- pledge changes ------------------------------------------------------------------------------


def test_an_extension_is_one_event_and_a_change_after_release_is_inv_12(
        ledger: TestClient, projectors: Projectors) -> None:
    post(ledger, pledge("pl-1", [P1], [OWNER], BANK, due_on="2023-06-01"))
    answer = post(ledger, change("ch-1", "pl-1", "2023-05-01", due_on="2024-06-01",
                                 secured_amount={"amount": "6000000"}))
    assert answer["events"][0]["type"] == "PledgeChanged" and answer["patents"] == [P1]
    view = ask(ledger, projectors, f"""
        {{ patent(number: "{P1}") {{ pledge {{ dealId status dueOn securedAmount {{ amount }} }} }} }}""")
    assert view["patent"]["pledge"] == {
        "dealId": "pl-1", "status": "active", "dueOn": "2024-06-01",
        "securedAmount": {"amount": "6000000"}}
    post(ledger, {"deal_id": "rel-1", "kind": "pledge_release", "pledge": "pl-1",
                  "effective_on": "2024-06-01"})
    facts = refused_by_rule(ledger, change("ch-2", "pl-1", "2024-07-01", due_on="2025-06-01"),
                            "INV-12")
    assert facts["pledge_status"] == "released"


def test_an_extension_past_expiry_is_inv_5_and_one_to_the_last_day_is_accepted(
        ledger: TestClient) -> None:
    post(ledger, pledge("pl-um", [UM], [OWNER], BANK, due_on="2023-06-01"))
    facts = refused_by_rule(ledger, change("ch-late", "pl-um", "2023-05-01",
                                           due_on="2029-03-01"), "INV-5")
    assert facts["expires_on"] == "2029-02-28" and facts["due_on"] == "2029-03-01"
    post(ledger, change("ch-ok", "pl-um", "2023-05-01", due_on="2029-02-28"))


def test_a_change_of_nothing_or_of_an_unknown_pledge_is_refused(ledger: TestClient) -> None:
    post(ledger, pledge("pl-2", [P1], [OWNER], BANK))
    assert_refused(ledger, "/v1/deals", change("ch-0", "pl-2", "2021-01-01"), "pledge_change",
                   message="names due_on, secured_amount or both")
    assert_refused(ledger, "/v1/deals", change("ch-u", "nope", "2021-01-01",
                                               due_on="2024-01-01"), "pledge")


# --- risk sharing and recovery ---------------------------------------------------------------


def test_compensation_needs_a_default_but_pre_compensation_may_come_while_active(
        ledger: TestClient) -> None:
    post(ledger, pledge("pl-r", [P1], [OWNER], BANK, guarantors=[GUARANTOR]))
    facts = refused_by_rule(ledger, payment("re-early", "pl-r", "guarantee_payment",
                                            GUARANTOR, "100", "2021-01-01"),
                            "INV-11", path="/v1/risk-events")
    assert facts["pledge_status"] == "active"
    answer = post(ledger, payment("re-pre", "pl-r", "pre_compensation", FUND, "500000",
                                  "2021-01-01"), "/v1/risk-events", role="regulator")
    assert answer["event_id"] == "re-pre" and answer["events"][0]["type"] == "RiskPaymentMade"
    post(ledger, default("df-r", "pl-r", "2022-01-01", "4000000"))
    post(ledger, payment("re-g", "pl-r", "guarantee_payment", GUARANTOR, "1000000",
                         "2022-02-01"), "/v1/risk-events")
    # the same body again: the first answer; another body under the same id: 409
    again = ledger.post("/v1/risk-events", headers=auth("platform"), json=payment(
        "re-g", "pl-r", "guarantee_payment", GUARANTOR, "1000000", "2022-02-01"))
    assert again.status_code == 200 and again.json()["position"] == answer["position"] + 2
    other = ledger.post("/v1/risk-events", headers=auth("platform"), json=payment(
        "re-g", "pl-r", "guarantee_payment", GUARANTOR, "999", "2022-02-01"))
    assert other.status_code == 409
    # proceeds 2,000,000 pay half the 4,000,000 claim; compensation 1,500,000 covers most of
    # the rest; 500,000 is left short
    post(ledger, disposal("dp-r", "pl-r", "auction", "2000000", "2022-06-01",
                          to_parties=[{"party": BUYER, "share": "1"}]))
    payload = stored(ledger, "dp-r")["payload"]
    assert payload["claim_paid"]["amount"] == "2000000"
    assert payload["compensation_covered"]["amount"] == "1500000"
    assert payload["shortfall"]["amount"] == "500000"
    assert payload["surplus"]["amount"] == "0"
    after = refused_by_rule(ledger, payment("re-late", "pl-r", "insurance_payment", INSURER,
                                            "10", "2022-07-01"),
                            "INV-11", path="/v1/risk-events")
    assert after["pledge_status"] == "disposed"


def test_a_payment_in_another_currency_than_the_loans_is_inv_11_and_stores_nothing(
        ledger: TestClient) -> None:
    post(ledger, pledge("pl-c", [P1], [OWNER], BANK))  # secures 5,000,000 CNY
    body = payment("re-usd", "pl-c", "pre_compensation", FUND, "1000", "2021-01-01")
    facts = refused_by_rule(ledger, {**body, "amount": {"amount": "1000", "currency": "USD"}},
                            "INV-11", path="/v1/risk-events")
    assert facts["currency"] == "USD" and facts["loan_currency"] == "CNY"
    assert facts["pledge"] == "pl-c" and facts["patent"] == P1
    # the same id in the loan's currency: nothing was kept of the refused one
    answer = post(ledger, body, "/v1/risk-events", role="regulator")
    assert answer["events"][0]["type"] == "RiskPaymentMade"


def test_risk_events_are_for_platforms_and_regulators_and_check_their_shape(
        ledger: TestClient) -> None:
    post(ledger, pledge("pl-s", [P1], [OWNER], BANK))
    body = payment("re-a", "pl-s", "pre_compensation", FUND, "10", "2021-01-01")
    assert ledger.post("/v1/risk-events", json=body, headers=auth("auditor")).status_code == 403
    assert_refused(ledger, "/v1/risk-events", {**body, "kind": "gift"}, "kind")
    assert_refused(ledger, "/v1/risk-events", payment("re-b", "pl-s", "pre_compensation", FUND,
                                                      "0", "2021-01-01"), "amount")
    assert_refused(ledger, "/v1/risk-events", payment("re-c", "pl-s", "pre_compensation",
                                                      uscc(298), "1", "2021-01-01"), "payer")
    assert_refused(ledger, "/v1/risk-events", payment("re-d", "no-such", "pre_compensation",
                                                      FUND, "1", "2021-01-01"), "pledge")


# --- disposal modes ------------------------------------------------------------------------------


def _defaulted(client: TestClient, pledge_id: str, number: str) -> None:
    post(client, pledge(pledge_id, [number], [OWNER], BANK))
    post(client, default(f"df-{pledge_id}", pledge_id, "2022-01-01", "1000000"))


def test_a_licence_to_a_third_party_leaves_title_and_licenses(
        ledger: TestClient, projectors: Projectors) -> None:
    _defaulted(ledger, "pl-l", P1)
    post(ledger, disposal("dp-l", "pl-l", "licence_to_third_party", "300000", "2022-03-01",
                          licence={"licensee": THIRD, "starts_on": "2022-03-01",
                                   "ends_on": "2027-02-28"}))
    found = ask(ledger, projectors, f"""{{ patent(number: "{P1}") {{
        owners {{ party {{ id }} }} licences {{ dealId licensee {{ id }} }} }} }}""")["patent"]
    assert found["owners"] == [{"party": {"id": OWNER}}]
    assert {"dealId": "dp-l", "licensee": {"id": THIRD}} in found["licences"]


def test_a_disposals_licence_may_not_overlap_an_exclusive_licence_inv_6(
        ledger: TestClient) -> None:
    post(ledger, licence("lic-x", [P1], [OWNER], GUARANTOR, kind="exclusive",
                         ends_on="2022-12-31"))  # granted before the pledge
    _defaulted(ledger, "pl-6", P1)
    body = disposal("dp-6", "pl-6", "licence_to_third_party", "300000", "2022-03-01",
                    licence={"licensee": THIRD, "starts_on": "2022-03-01",
                             "ends_on": "2025-02-28"})
    facts = refused_by_rule(ledger, body, "INV-6")
    assert facts["overlapping_licence"] == "lic-x" and facts["overlapping_kind"] == "exclusive"
    assert facts["overlapping_licensee"] == GUARANTOR
    # from the day after the exclusive licence ends, the third party may be licensed
    post(ledger, {**body, "licence": {**body["licence"], "starts_on": "2023-01-01"}})


def test_an_equity_contribution_needs_a_valuation_inv_15(ledger: TestClient) -> None:
    _defaulted(ledger, "pl-e", P1)
    body = disposal("dp-e", "pl-e", "equity_contribution", "800000", "2022-03-01",
                    to_parties=[{"party": BUYER, "share": "1"}])
    refused_by_rule(ledger, body, "INV-15")
    post(ledger, {**body, "valuation": {"amount": "800000"}})


def test_a_licence_back_must_license_the_pledgor_inv_11(ledger: TestClient) -> None:
    _defaulted(ledger, "pl-b", P1)
    body = disposal("dp-b", "pl-b", "acquisition_with_licence_back", "900000", "2022-03-01",
                    to_parties=[{"party": BUYER, "share": "1"}],
                    licence={"licensee": THIRD, "starts_on": "2022-03-01",
                             "ends_on": "2026-12-31"})
    facts = refused_by_rule(ledger, body, "INV-11")
    assert facts["pledgors"] == [OWNER]
    post(ledger, {**body, "licence": {**body["licence"], "licensee": OWNER}})


def test_disposal_modes_state_what_they_need(ledger: TestClient) -> None:
    _defaulted(ledger, "pl-m", P1)
    assert_refused(ledger, "/v1/deals", disposal("dp-m", "pl-m", "licence_to_third_party",
                                                 "1", "2022-03-01"), "disposal",
                   message="grants a licence")
    assert_refused(ledger, "/v1/deals", disposal(
        "dp-m", "pl-m", "licence_to_third_party", "1", "2022-03-01",
        to_parties=[{"party": BUYER, "share": "1"}],
        licence={"licensee": THIRD, "starts_on": "2022-03-01", "ends_on": "2023-01-01"}),
        "disposal", message="leaves title")
    assert_refused(ledger, "/v1/deals", disposal(
        "dp-m", "pl-m", "auction", "1", "2022-03-01", to_parties=[{"party": BUYER, "share": "1"}],
        licence={"licensee": THIRD, "starts_on": "2022-03-01", "ends_on": "2023-01-01"}),
        "disposal", message="grants no licence")


# --- intermediaries and official numbers -----------------------------------------------------


def test_a_deal_names_its_intermediaries_and_official_record(ledger: TestClient) -> None:
    post(ledger, pledge("pl-i", [P2], [OWNER], BANK, agency=AGENCY, technology_manager=MANAGER,
                        official_record="Y2020980012345"))
    payload = stored(ledger, "pl-i")["payload"]
    assert payload["agency"] == AGENCY and payload["technology_manager"] == MANAGER
    assert payload["official_record"] == "Y2020980012345" and payload["platform"] is None
    assert AGENCY in stored(ledger, "pl-i")["parties"]


def test_an_intermediary_of_another_kind_or_a_malformed_record_is_refused(
        ledger: TestClient) -> None:
    assert_refused(ledger, "/v1/deals", pledge("pl-j", [P2], [OWNER], BANK, agency=BANK),
                   "agency", message="an intermediary is an agency or an individual")
    for bad in ("Y20-2098001", "2020", "y2020980012345", "Y2020 980012345"):
        assert_refused(ledger, "/v1/deals", pledge("pl-j", [P2], [OWNER], BANK,
                                                   official_record=bad), "official_record")
    assert event_count(ledger) > 0
