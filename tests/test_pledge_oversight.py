"""What regulators and evaluators see of pledge finance and intermediaries (issue 19;
domain.md s11), through the public API: K6 by the debtor's kind and size, K8 recovery by
source and the shortfall left, counted by hand; AR-9 ignores a pledge change (near miss);
AR-1 ignores a licence-back after a disposal (near miss); AR-12's shared-agent variant; the
abnormal-operations list lowers an agency's grade and shows on its deals; `party { arranged }`
and `events(filter: {agency})`."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.projectors import Projectors
from tests.builders import assert_refused, cn_patent, party, patent, pledge, transfer, uscc
from tests.ledger_fixtures import answered, auth

OWNER, DEBTOR, GUARANTOR, BUYER, FUND = (uscc(300 + i) for i in range(5))
BANK, AGENCY, OTHER_AGENCY = uscc(310), uscc(311), uscc(312)
NEW_SMALL = [uscc(320 + i) for i in range(5)]
PATENTS = [cn_patent(2017, 1, 801000 + i) for i in range(8)]

K = """query($from: Date!, $to: Date!) {
  indicators(from: $from, to: $to, granularity: "year", excludeFlagged: false) {
    indicator dimension count amount value recovered shortfall } }"""


@pytest.fixture
def ledger(client: TestClient) -> TestClient:
    for who in (OWNER, GUARANTOR, BUYER):
        party(client, who, size="large")
    party(client, DEBTOR, size="small")
    party(client, FUND, kind="government")
    party(client, BANK, kind="bank")
    party(client, AGENCY, kind="agency")
    party(client, OTHER_AGENCY, kind="agency")
    for who in NEW_SMALL:
        party(client, who, size="micro", founded_on="2020-01-01")
    for number in PATENTS:
        patent(client, number, {OWNER: "1"})
    return client


def post(client: TestClient, body: dict[str, Any], path: str = "/v1/deals",
         role: str = "platform") -> None:
    response = client.post(path, json=body, headers=auth(role))
    assert response.status_code == 201, response.text


ask = answered  # GraphQL data, as a regulator unless `role` says


def rows(client: TestClient, projectors: Projectors, indicator: str) -> dict[str, Any]:
    found = ask(client, projectors, K, **{"from": "2020-01-01", "to": "2022-12-31"})
    return {r["dimension"]: r for r in found["indicators"] if r["indicator"] == indicator}


def flags(client: TestClient, projectors: Projectors, rule: str) -> list[dict[str, Any]]:
    found = ask(client, projectors, f"""{{ anomalies(filter: {{rule: "{rule}"}}, first: 100)
        {{ edges {{ node {{ id explanation parties {{ id }} }} }} }} }}""")
    return [e["node"] for e in found["anomalies"]["edges"]]


def test_k6_splits_pledges_by_the_debtor_else_the_pledgor(
        ledger: TestClient, projectors: Projectors) -> None:
    post(ledger, pledge("pl-a", [PATENTS[0]], [OWNER], BANK, debtor=DEBTOR))
    post(ledger, pledge("pl-b", [PATENTS[1]], [OWNER], BANK, debtor=DEBTOR))
    post(ledger, pledge("pl-c", [PATENTS[2]], [OWNER], BANK))  # the pledgor borrows
    k6 = rows(ledger, projectors, "K6")
    # by hand: two pledges of 5 m each for the small debtor, one for the large pledgor
    assert k6["debtor:enterprise/small"]["count"] == 2
    assert k6["debtor:enterprise/small"]["amount"] == "10000000"
    assert k6["debtor:enterprise/large"]["count"] == 1
    assert k6["registered"]["count"] == 3


def test_k8_gives_recovery_by_source_and_the_shortfall_left(
        ledger: TestClient, projectors: Projectors) -> None:
    post(ledger, pledge("pl-r", [PATENTS[0]], [OWNER], BANK, guarantors=[GUARANTOR]))
    post(ledger, {"event_id": "pre", "pledge": "pl-r", "kind": "pre_compensation",
                  "payer": FUND, "amount": {"amount": "200000"}, "paid_on": "2021-01-01"},
         "/v1/risk-events", role="regulator")
    post(ledger, {"deal_id": "df", "kind": "default", "pledge": "pl-r",
                  "effective_on": "2022-01-01", "outstanding": {"amount": "3000000"}})
    post(ledger, {"event_id": "gua", "pledge": "pl-r", "kind": "guarantee_payment",
                  "payer": GUARANTOR, "amount": {"amount": "800000"}, "paid_on": "2022-02-01"},
         "/v1/risk-events")
    post(ledger, {"deal_id": "dp", "kind": "disposal", "pledge": "pl-r", "mode": "auction",
                  "proceeds": {"amount": "1500000"}, "effective_on": "2022-06-01",
                  "to_parties": [{"party": BUYER, "share": "1"}]})
    k8 = rows(ledger, projectors, "K8")
    # by hand: claim 3,000,000; proceeds pay 1,500,000; compensation 1,000,000 covers part
    # of the 1,500,000 left; 500,000 is short
    assert k8["source:disposal_proceeds"]["recovered"] == "1500000"
    assert k8["source:pre_compensation"]["recovered"] == "200000"
    assert k8["source:guarantee_payment"]["recovered"] == "800000"
    assert k8["source:disposal_proceeds"]["shortfall"] == "500000"
    assert k8["auction"]["value"] == "0.5000"  # the proceeds' recovery ratio, as before


def test_an_extension_is_not_a_release_so_ar_9_does_not_fire(
        ledger: TestClient, projectors: Projectors) -> None:
    post(ledger, pledge("pl-1", [PATENTS[3]], [OWNER], BANK, effective_on="2020-01-01",
                        due_on="2020-06-01"))
    for i, due in enumerate(("2020-12-01", "2021-06-01", "2021-12-01", "2022-06-01")):
        post(ledger, {"deal_id": f"ext-{i}", "kind": "pledge_change", "pledge": "pl-1",
                      "effective_on": f"2020-0{i + 2}-01", "due_on": due})
    assert flags(ledger, projectors, "AR-9") == []


def test_churn_of_releases_and_re_pledges_still_fires_ar_9(
        ledger: TestClient, projectors: Projectors) -> None:
    day = ["2020-01-01", "2020-02-01", "2020-02-10", "2020-03-01", "2020-03-10", "2020-04-01",
           "2020-04-10", "2020-05-01"]
    for i in range(4):
        post(ledger, pledge(f"pl-{i}", [PATENTS[4]], [OWNER], BANK, effective_on=day[2 * i],
                            due_on="2023-01-01"))
        post(ledger, {"deal_id": f"rel-{i}", "kind": "pledge_release", "pledge": f"pl-{i}",
                      "effective_on": day[2 * i + 1]})
    assert flags(ledger, projectors, "AR-9"), "release and re-pledge on later days is churn"


def test_a_licence_back_after_a_disposal_is_not_a_round_trip(
        ledger: TestClient, projectors: Projectors) -> None:
    post(ledger, pledge("pl-lb", [PATENTS[5]], [OWNER], BANK))
    post(ledger, {"deal_id": "df-lb", "kind": "default", "pledge": "pl-lb",
                  "effective_on": "2021-01-01", "outstanding": {"amount": "1000000"}})
    post(ledger, {"deal_id": "dp-lb", "kind": "disposal", "pledge": "pl-lb",
                  "mode": "acquisition_with_licence_back", "proceeds": {"amount": "1200000"},
                  "effective_on": "2021-03-01", "to_parties": [{"party": BUYER, "share": "1"}],
                  "licence": {"licensee": OWNER, "starts_on": "2021-03-01",
                              "ends_on": "2025-12-31"}})
    assert flags(ledger, projectors, "AR-1") == []
    # the title itself coming back within a year is a round trip
    post(ledger, transfer("back", [PATENTS[5]], [BUYER], {OWNER: "1"},
                          effective_on="2021-09-01"))
    assert len(flags(ledger, projectors, "AR-1")) == 1


def test_ar_12_flags_many_new_small_buyers_sharing_one_agency(
        ledger: TestClient, projectors: Projectors) -> None:
    for i, buyer in enumerate(NEW_SMALL):
        post(ledger, transfer(f"t-{i}", [PATENTS[i]], [OWNER], {buyer: "1"},
                              effective_on=f"2020-03-{1 + 7 * i:02d}", agency=AGENCY))
    found = [f for f in flags(ledger, projectors, "AR-12") if "through agency" in
             f["explanation"]]
    assert len(found) == 1 and AGENCY in {p["id"] for p in found[0]["parties"]}
    assert f"through agency {AGENCY}" in found[0]["explanation"]


def test_ar_12_agency_near_miss_four_buyers_share_one_agency(
        ledger: TestClient, projectors: Projectors) -> None:
    for i, buyer in enumerate(NEW_SMALL):
        post(ledger, transfer(f"t-{i}", [PATENTS[i]], [OWNER], {buyer: "1"},
                              effective_on=f"2020-03-{1 + 7 * i:02d}",
                              agency=AGENCY if i < 4 else OTHER_AGENCY))
    assert not [f for f in flags(ledger, projectors, "AR-12")
                if "through agency" in f["explanation"]]


def test_abnormal_operations_listing_lowers_the_agencys_grade_and_shows_on_its_deals(
        ledger: TestClient, projectors: Projectors) -> None:
    post(ledger, pledge("pl-ag", [PATENTS[6]], [OWNER], BANK, agency=AGENCY))
    post(ledger, {"listing_id": "ab-1", "party": AGENCY, "list": "abnormal_operations",
                  "grounds": "false registration materials (Huainan 异常名录)",
                  "starts_on": "2021-01-01"}, "/v1/listings", role="regulator")
    found = ask(ledger, projectors, f"""{{ party(id: "{AGENCY}") {{ credit {{ grade
        reasons {{ rule }} }} arranged(first: 10) {{ edges {{ dealId }} }} }}
        deal(id: "pl-ag") {{ intermediaries {{ role partyId abnormalOperations }} }}
        events(filter: {{agency: "{AGENCY}"}}) {{ edges {{ dealId }} }} }}""")
    assert found["party"]["credit"]["grade"] == "C"
    assert found["party"]["credit"]["reasons"] == [{"rule": "LIST:abnormal_operations"}]
    assert found["party"]["arranged"]["edges"] == [{"dealId": "pl-ag"}]
    assert found["events"]["edges"] == [{"dealId": "pl-ag"}]
    assert found["deal"]["intermediaries"] == [
        {"role": "agency", "partyId": AGENCY, "abnormalOperations": ["ab-1"]}]


def test_time_travel_shows_what_an_agency_had_arranged_and_its_listing_as_of_a_day(
        ledger: TestClient, projectors: Projectors) -> None:
    post(ledger, pledge("pl-t1", [PATENTS[6]], [OWNER], BANK, agency=AGENCY))  # 2020-06-01
    post(ledger, transfer("t-t2", [PATENTS[5]], [OWNER], {BUYER: "1"},
                          effective_on="2021-03-01", agency=AGENCY))
    post(ledger, {"listing_id": "ab-t", "party": AGENCY, "list": "abnormal_operations",
                  "grounds": "false registration materials (Huainan 异常名录)",
                  "starts_on": "2021-01-01", "ends_on": "2022-01-01"}, "/v1/listings",
         role="regulator")

    def on(day: str) -> Any:
        return ask(ledger, projectors, f"""{{
            party(id: "{AGENCY}", asOf: "{day}") {{ credit {{ grade }}
                arranged(first: 10) {{ edges {{ dealId }} }} }}
            deal(id: "pl-t1") {{ intermediaries(asOf: "{day}") {{ partyId abnormalOperations }} }}
        }}""")

    before = on("2020-12-31")
    assert before["party"]["arranged"]["edges"] == [{"dealId": "pl-t1"}]  # t-t2 came later
    assert before["party"]["credit"]["grade"] != "C"
    assert before["deal"]["intermediaries"] == [{"partyId": AGENCY, "abnormalOperations": []}]
    listed = on("2021-06-01")
    assert [e["dealId"] for e in listed["party"]["arranged"]["edges"]] == ["pl-t1", "t-t2"]
    assert listed["party"]["credit"]["grade"] == "C"
    assert listed["deal"]["intermediaries"] == [
        {"partyId": AGENCY, "abnormalOperations": ["ab-t"]}]
    # the listing's end (its ends_on is the first day off the list)
    after = on("2022-01-01")
    assert after["deal"]["intermediaries"] == [{"partyId": AGENCY, "abnormalOperations": []}]
    assert after["party"]["credit"]["grade"] != "C"
    # a platform sees who arranged the deal, not the regulators' list
    seen = ask(ledger, projectors, """{ deal(id: "pl-t1") {
        intermediaries(asOf: "2021-06-01") { partyId abnormalOperations } } }""",
               role="platform")
    assert seen["deal"]["intermediaries"] == [{"partyId": AGENCY, "abnormalOperations": []}]


def test_only_agencies_go_on_the_abnormal_operations_list(ledger: TestClient) -> None:
    assert_refused(ledger, "/v1/listings", {
        "listing_id": "ab-2", "party": BANK, "list": "abnormal_operations",
        "grounds": "x", "starts_on": "2021-01-01"}, "list", role="regulator",
        message="for agencies and platforms")


def test_an_agencys_grade_counts_confirmed_flags_on_deals_it_arranged(
        ledger: TestClient, projectors: Projectors) -> None:
    post(ledger, transfer("out", [PATENTS[7]], [OWNER], {BUYER: "1"}, effective_on="2020-03-01"))
    post(ledger, transfer("home", [PATENTS[7]], [BUYER], {OWNER: "1"},
                          effective_on="2020-05-01", agency=OTHER_AGENCY))
    [flag] = flags(ledger, projectors, "AR-1")
    assert OTHER_AGENCY not in {p["id"] for p in flag["parties"]}
    response = ledger.post(f"/v1/anomalies/{flag['id']}/finding", headers=auth("regulator"),
                           json={"decision": "confirmed", "note": "sham round trip"})
    assert response.status_code == 201, response.text
    found = ask(ledger, projectors, f"""{{ party(id: "{OTHER_AGENCY}") {{ credit {{ grade
        reasons {{ rule detail evidence {{ position }} }} }} }} }}""")
    credit = found["party"]["credit"]
    assert credit["grade"] == "C" and credit["reasons"][0]["rule"] == "AR-1"
    assert "on a deal it arranged (agency)" in credit["reasons"][0]["detail"]
