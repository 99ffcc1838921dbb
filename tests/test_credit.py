"""Credit grades A-D with their reasons, listings, and the blacklist on a date (domain.md s7,
as amended by s9 after the 2022 CNIPA credit rules: only a regulator's listing lists a party;
unresolved defaults and confirmed anomalies are risk marks, grade C with evidence, no listing)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.projectors import Projectors
from tests.builders import cn_patent, licence, party, patent, pledge, transfer, uscc
from tests.ledger_fixtures import auth, wait_projected

CLEAN, LATE, DEBTOR, LISTED, SERIOUS, SHAM, BUYER = (uscc(30 + i) for i in range(7))
BANK = uscc(95)
CREDIT = """query($id: String!, $asOf: Date) { party(id: $id, asOf: $asOf) {
    credit { grade reasons { rule grade detail evidence { position dealId kind } } }
    blacklisted listings { listingId list automatic startsOn endsOn repairFrom consequences } } }"""


def post(client: TestClient, body: dict[str, Any], path: str = "/v1/deals",
         role: str = "platform") -> None:
    response = client.post(path, json=body, headers=auth(role))
    assert response.status_code == 201, response.text


def ask(client: TestClient, projectors: Projectors, query: str, role: str = "regulator",
        **variables: Any) -> Any:
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    response = client.post("/graphql", json={"query": query, "variables": variables},
                           headers=auth(role))
    return response.json()


def credit(client: TestClient, projectors: Projectors, party_id: str,
           as_of: str | None = None) -> dict[str, Any]:
    body = ask(client, projectors, CREDIT, id=party_id, asOf=as_of)
    assert "errors" not in body, body
    return dict(body["data"]["party"])


@pytest.fixture
def ledger(client: TestClient) -> TestClient:
    for p in (CLEAN, LATE, DEBTOR, LISTED, SERIOUS, SHAM, BUYER):
        party(client, p)
    party(client, BANK, kind="bank")
    for i, owner in enumerate((CLEAN, LATE, DEBTOR, SHAM)):
        patent(client, cn_patent(2016, 1, 300 + i), {owner: "1"}, filed_on="2016-03-01",
               granted_on="2018-06-01")
    return client


def test_grades_a_to_d_each_with_its_reason(ledger: TestClient, projectors: Projectors) -> None:
    client = ledger
    # B: a licence filed more than three months after it took effect (INV-13).
    post(client, licence("LATE-1", [cn_patent(2016, 1, 301)], [LATE], BUYER,
                         starts_on="2025-01-01", ends_on="2027-12-31", filed_on="2025-06-01"))
    # C: an unresolved default (INV-11).
    post(client, pledge("PL-1", [cn_patent(2016, 1, 302)], [DEBTOR], BANK, "2023-01-01",
                        "2024-01-01"))
    post(client, {"deal_id": "DF-1", "kind": "default", "effective_on": "2024-02-01",
                  "patents": [cn_patent(2016, 1, 302)], "pledge": "PL-1",
                  "outstanding": {"amount": "900000", "currency": "CNY"}})
    # C and D: regulators' lists.
    for listing_id, who, which in (("L-C", LISTED, "dishonest"),
                                   ("L-D", SERIOUS, "serious_dishonesty")):
        post(client, {"listing_id": listing_id, "party": who, "list": which,
                      "grounds": "unpaid judgment", "starts_on": "2024-03-01",
                      "ends_on": "2030-02-28"}, "/v1/listings", "regulator")
    grades = {p: credit(client, projectors, p)["credit"]["grade"]
              for p in (CLEAN, LATE, DEBTOR, LISTED, SERIOUS)}
    assert grades == {CLEAN: "A", LATE: "B", DEBTOR: "C", LISTED: "C", SERIOUS: "D"}
    late = credit(client, projectors, LATE)["credit"]["reasons"][0]
    assert late["rule"] == "INV-13" and late["evidence"][0]["dealId"] == "LATE-1"
    debtor = credit(client, projectors, DEBTOR)
    assert debtor["credit"]["reasons"][0]["rule"] == "INV-11"
    assert [e["dealId"] for e in debtor["credit"]["reasons"][0]["evidence"]] == ["DF-1"]
    # Issue 17 (s9): the default is a risk mark; it lists nobody and carries no consequence.
    assert debtor["credit"]["reasons"][0]["detail"].startswith("risk mark: ")
    assert not debtor["blacklisted"] and debtor["listings"] == []
    listed = credit(client, projectors, LISTED)
    assert listed["blacklisted"] and [x["automatic"] for x in listed["listings"]] == [False]
    serious = credit(client, projectors, SERIOUS)
    assert serious["credit"]["reasons"][0]["rule"] == "LIST:serious_dishonesty"
    assert serious["listings"][0]["repairFrom"] == "2025-03-01"
    assert "no subsidy" in serious["listings"][0]["consequences"]
    # As of a date before the listing, the party was clean.
    assert credit(client, projectors, SERIOUS, "2024-01-01")["credit"]["grade"] == "A"
    assert not credit(client, projectors, SERIOUS, "2024-01-01")["blacklisted"]


def test_a_released_pledge_resolves_the_default(ledger: TestClient,
                                                projectors: Projectors) -> None:
    client = ledger
    number = cn_patent(2016, 1, 302)
    post(client, pledge("PL-2", [number], [DEBTOR], BANK, "2023-01-01", "2024-01-01"))
    post(client, {"deal_id": "DF-2", "kind": "default", "effective_on": "2024-02-01",
                  "patents": [number], "pledge": "PL-2",
                  "outstanding": {"amount": "10", "currency": "CNY"}})
    post(client, {"deal_id": "RL-2", "kind": "pledge_release", "effective_on": "2024-05-01",
                  "patents": [number], "pledge": "PL-2"})
    assert credit(client, projectors, DEBTOR)["credit"]["grade"] == "A"
    assert credit(client, projectors, DEBTOR, "2024-03-01")["credit"]["grade"] == "C"


def test_confirmed_anomaly_is_a_risk_mark_that_lists_nobody(
        ledger: TestClient, projectors: Projectors) -> None:
    """Until issue 17 a confirmed anomaly listed the party automatically ("automatic:AR-5");
    under domain.md s9 it lowers the grade to C with its evidence and lists nobody."""
    client = ledger
    post(client, transfer("SH-1", [cn_patent(2016, 1, 303)], [SHAM], {BUYER: "1"},
                          price={"amount": "1", "currency": "CNY"}))
    flags = ask(client, projectors, '{ anomalies(filter: {rule: "AR-5"}) '
                                    '{ edges { node { id } } } }')
    flag_id = flags["data"]["anomalies"]["edges"][0]["node"]["id"]
    post(client, {"decision": "confirmed", "note": "sham sale"},
         f"/v1/anomalies/{flag_id}/finding", "regulator")
    sham = credit(client, projectors, SHAM)
    assert sham["credit"]["grade"] == "C" and sham["credit"]["reasons"][0]["rule"] == "AR-5"
    reason = sham["credit"]["reasons"][0]
    assert reason["detail"].startswith("risk mark: confirmed anomaly")
    assert "SH-1" in {e["dealId"] for e in reason["evidence"]}
    assert not sham["blacklisted"] and sham["listings"] == []
    today = ask(client, projectors, "{ blacklist { party { id } list automatic } }")
    assert today["data"]["blacklist"] == []
    # A regulator's decision does list the party, with its consequences.
    post(client, {"listing_id": "L-SHAM", "party": SHAM, "list": "dishonest",
                  "grounds": "subsidy obtained by a sham sale", "starts_on": "2025-01-01",
                  "ends_on": "2027-12-31"}, "/v1/listings", "regulator")
    today = ask(client, projectors, "{ blacklist { party { id } list automatic consequences } }")
    assert [(x["party"]["id"], x["list"], x["automatic"]) for x in today["data"]["blacklist"]
            ] == [(SHAM, "dishonest", False)]
    assert credit(client, projectors, SHAM)["blacklisted"]
    board = ask(client, projectors, "query($d: Date!) { blacklist(asOf: $d) { party { id } } }",
                d="2099-01-01")["data"]["blacklist"]
    assert board == [], "the listing ends after its term"


def test_blacklisted_only_while_a_regulators_listing_is_in_force(
        ledger: TestClient, projectors: Projectors) -> None:
    """`blacklisted` follows the listing's term and its early end, nothing else."""
    client = ledger
    post(client, {"listing_id": "L-END", "party": LISTED, "list": "dishonest",
                  "grounds": "unpaid judgment", "starts_on": "2024-03-01",
                  "ends_on": "2030-02-28"}, "/v1/listings", "regulator")
    post(client, {"ended_on": "2024-09-01"}, "/v1/listings/L-END/end", "regulator")
    assert credit(client, projectors, LISTED, "2024-02-29")["blacklisted"] is False
    during = credit(client, projectors, LISTED, "2024-08-31")
    assert during["blacklisted"] and during["credit"]["grade"] == "C"
    after = credit(client, projectors, LISTED, "2024-09-01")
    assert after["blacklisted"] is False and after["credit"]["grade"] == "A"
    assert [x["listingId"] for x in after["listings"]] == ["L-END"], "history stays visible"


def test_platforms_see_no_credit_or_blacklist(ledger: TestClient,
                                              projectors: Projectors) -> None:
    body = ask(ledger, projectors, CREDIT, role="platform", id=CLEAN)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = ask(ledger, projectors, "{ blacklist { listingId } }", role="platform")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "errors" not in ask(ledger, projectors, CREDIT, role="auditor", id=CLEAN)
