"""INV-1 to INV-16 through the REST API: a case each rule refuses, and a near case it accepts.

A refusal is 409 naming the rule and the facts that broke it, and stores nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ledger.engine.register import Register
from ledger.law.events import LedgerEvent
from ledger.law.rules import Refusal
from ledger.posting.commands import PartyCommand, PatentCommand
from ledger.posting.decisions import Accepted, Stamp, decide_party, decide_patent
from tests.builders import (
    cn_patent,
    event_count,
    licence,
    party,
    patent,
    pledge,
    refused_by_rule,
    transfer,
    uscc,
)

A, B, C = uscc(1), uscc(2), uscc(3)
BANK, BANK2 = uscc(50), uscc(51)
P1 = cn_patent(2017, 1, 601862)  # invention filed 2017-07-20: expires 2037-07-19
P2 = cn_patent(2017, 1, 601863)
UM = cn_patent(2019, 2, 100001)  # utility model filed 2019-03-01: expires 2029-02-28


@pytest.fixture
def ledger(client: TestClient) -> TestClient:
    for p in (A, B, C):
        party(client, p)
    for bank in (BANK, BANK2):
        party(client, bank, kind="bank")
    patent(client, P1, {A: "1"})
    patent(client, P2, {A: "0.5", B: "0.5"})
    patent(client, UM, {A: "1"}, filed_on="2019-03-01", granted_on="2019-09-01")
    return client


def refused(client: TestClient, body: dict[str, Any], rule: str,
            path: str = "/v1/deals") -> dict[str, Any]:
    return refused_by_rule(client, body, rule, path)


def accepted(client: TestClient, body: dict[str, Any], path: str = "/v1/deals") -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def status(client: TestClient, number: str, value: str, on: str) -> Any:
    return client.post(f"/v1/patents/{number}/status", json={"status": value, "effective_on": on})


# --- INV-1 ---------------------------------------------------------------------------------


def test_inv_1_reregistering_a_patent_with_new_owners_is_refused(ledger: TestClient) -> None:
    """Through the API the patent's idempotency key answers first (409 idempotency conflict,
    nothing stored); INV-1 stands behind it, for a registration whose key the register does
    not hold (an event stored under an older spelling of the key)."""
    body = {"number": P1, "title": f"Patent {P1}", "filed_on": "2017-07-20",
            "granted_on": "2019-01-08", "owners": [{"party": B, "share": "1"}]}
    before = event_count(ledger)
    response = ledger.post("/v1/patents", json=body)
    assert response.status_code == 409 and response.json()["facts"]["key"] == f"patent:{P1}"
    assert event_count(ledger) == before
    register, stamp = Register(), Stamp("test", datetime(2021, 1, 1, tzinfo=UTC))
    for command in (PartyCommand(id=A, name="A", kind="enterprise"),
                    PartyCommand(id=B, name="B", kind="enterprise")):
        register.apply(_accepted(decide_party(register, stamp, cmd=command)))
    first = PatentCommand.model_validate({**body, "owners": [{"party": A, "share": "1"}]})
    register.apply(_accepted(decide_patent(register, stamp, cmd=first)))
    del register.posted[f"patent:{P1}"]
    refusal = decide_patent(register, stamp, cmd=PatentCommand.model_validate(body))
    assert isinstance(refusal, Refusal) and refusal.rule == "INV-1"
    assert refusal.facts["owners"] == [A]


def _accepted(outcome: object) -> LedgerEvent:
    assert isinstance(outcome, Accepted), outcome
    return outcome.events[0]


def test_inv_1_ownership_moves_by_a_transfer(ledger: TestClient) -> None:
    accepted(ledger, transfer("t1", [P1], [A], {B: "1"}))
    refused(ledger, transfer("t2", [P1], [A], {C: "1"}, effective_on="2020-04-01"), "INV-2")


# --- INV-2 / INV-3 ---------------------------------------------------------------------------


def test_inv_2_transfer_without_every_co_owner_is_refused(ledger: TestClient) -> None:
    facts = refused(ledger, transfer("t1", [P2], [A], {C: "1"}), "INV-2")
    assert facts["missing_owners"] == [B]


def test_inv_2_transfer_by_all_co_owners_is_accepted(ledger: TestClient) -> None:
    accepted(ledger, transfer("t1", [P2], [A, B], {C: "1"}))


def test_inv_2_pledge_by_one_co_owner_is_refused(ledger: TestClient) -> None:
    facts = refused(ledger, pledge("p1", [P2], [A], BANK), "INV-2")
    assert facts["missing_owners"] == [B]


def test_inv_3_one_co_owner_may_not_grant_an_exclusive_licence(ledger: TestClient) -> None:
    facts = refused(ledger, licence("l1", [P2], [A], C, kind="exclusive"), "INV-3")
    assert facts["missing_owners"] == [B]


def test_inv_3_one_co_owner_may_grant_an_ordinary_licence(ledger: TestClient) -> None:
    accepted(ledger, licence("l1", [P2], [A], C, kind="ordinary"))


# --- INV-4 -----------------------------------------------------------------------------------


def test_inv_4_no_transfer_of_a_lapsed_patent(ledger: TestClient) -> None:
    assert status(ledger, P1, "lapsed", "2020-01-10").status_code == 201
    facts = refused(ledger, transfer("t1", [P1], [A], {B: "1"}), "INV-4")
    assert facts["status"] == "lapsed"


def test_inv_4_transfer_before_the_lapse_is_accepted(ledger: TestClient) -> None:
    assert status(ledger, P1, "lapsed", "2020-06-10").status_code == 201
    accepted(ledger, transfer("t1", [P1], [A], {B: "1"}, effective_on="2020-03-01"))


def test_inv_4_no_licence_during_the_fee_grace_period(ledger: TestClient) -> None:
    assert status(ledger, P1, "fee_grace", "2020-01-01").status_code == 201
    facts = refused(ledger, licence("l1", [P1], [A], B, starts_on="2020-02-01"), "INV-4")
    assert facts["frozen_by"] == ["fee_grace"]
    accepted(ledger, transfer("t1", [P1], [A], {B: "1"}, effective_on="2020-02-01"))


def test_inv_4_licence_after_restoration_is_accepted(ledger: TestClient) -> None:
    status(ledger, P1, "fee_grace", "2020-01-01")
    assert status(ledger, P1, "restored", "2020-01-20").status_code == 201
    accepted(ledger, licence("l1", [P1], [A], B, starts_on="2020-02-01"))


def test_inv_4_no_transfer_while_preserved_by_a_court(ledger: TestClient) -> None:
    status(ledger, P1, "preserved", "2020-01-01")
    refused(ledger, transfer("t1", [P1], [A], {B: "1"}), "INV-4")
    status(ledger, P1, "preservation_lifted", "2020-05-01")
    accepted(ledger, transfer("t2", [P1], [A], {B: "1"}, effective_on="2020-05-02"))


def test_inv_4_restoring_a_patent_in_force_is_refused(ledger: TestClient) -> None:
    response = status(ledger, P1, "restored", "2020-01-01")
    assert response.status_code == 409
    assert response.json()["rule"] == "INV-4"


def test_inv_4_no_pledge_before_the_grant(ledger: TestClient) -> None:
    """Issue 17 (domain.md s9): before its grant the patent is an application, whose right
    may be transferred (Art. 10) but not pledged; tests/test_law_api.py holds the rest."""
    facts = refused(ledger, pledge("p1", [P1], [A], BANK, effective_on="2018-12-31"), "INV-4")
    assert facts["granted_on"] == "2019-01-08" and facts["stage"] == "application"
    accepted(ledger, transfer("t1", [P1], [A], {B: "1"}, effective_on="2018-12-31"))


# --- INV-5 -----------------------------------------------------------------------------------


def test_inv_5_licence_may_not_outlive_the_patent(ledger: TestClient) -> None:
    facts = refused(ledger, licence("l1", [UM], [A], B, ends_on="2029-03-01"), "INV-5")
    assert facts["expires_on"] == "2029-02-28"
    accepted(ledger, licence("l2", [UM], [A], B, ends_on="2029-02-28"))


def test_inv_5_pledged_debt_may_not_fall_due_after_expiry(ledger: TestClient) -> None:
    refused(ledger, pledge("p1", [UM], [A], BANK, due_on="2029-06-01"), "INV-5")
    accepted(ledger, pledge("p2", [UM], [A], BANK, due_on="2029-01-01"))


def test_inv_5_an_open_licence_under_a_year_is_accepted_and_flagged(ledger: TestClient
                                                                     ) -> None:
    """Issue 17 (domain.md s9): the one-year floor was a pilot rule ("原则上不低于一年"): a
    shorter open licence is no longer refused but flagged INV-5."""
    body = {"deal_id": "o1", "kind": "open_licence_declaration", "effective_on": "2020-01-01",
            "patents": [P1], "owners": [A], "fee": {"mode": "royalty", "rate": "0.02"},
            "starts_on": "2020-01-01", "ends_on": "2020-12-30"}
    assert accepted(ledger, body)["flags"] == ["INV-5"]
    replay = ledger.post("/v1/deals", json=body)
    assert replay.status_code == 200 and replay.json()["flags"] == ["INV-5"]
    ledger.post("/v1/deals", json={"deal_id": "o1-end", "kind": "open_licence_withdrawal",
                                   "effective_on": "2020-12-31", "patents": [P1],
                                   "owners": [A]})
    year = accepted(ledger, {**body, "deal_id": "o2", "effective_on": "2021-01-01",
                             "starts_on": "2021-01-01", "ends_on": "2022-01-01"})
    assert "flags" not in year


# --- INV-6 / INV-7 / INV-8 ---------------------------------------------------------------------


def test_inv_6_exclusive_licence_excludes_an_overlapping_one(ledger: TestClient) -> None:
    accepted(ledger, licence("l1", [P1], [A], B, kind="exclusive"))
    facts = refused(ledger, licence("l2", [P1], [A], C, starts_on="2024-01-01",
                                    ends_on="2025-12-31"), "INV-6")
    assert facts["overlapping_licence"] == "l1"


def test_inv_6_licences_that_do_not_overlap_in_time_or_territory_are_accepted(
    ledger: TestClient,
) -> None:
    accepted(ledger, licence("l1", [P1], [A], B, kind="exclusive"))
    accepted(ledger, licence("l2", [P1], [A], C, kind="exclusive", starts_on="2025-01-01",
                             ends_on="2026-12-31"))
    accepted(ledger, {**licence("l3", [P1], [A], C, kind="exclusive"), "territory": "US"})


def test_inv_6_sole_licence_excludes_other_licensees_but_ordinary_ones_stack(
    ledger: TestClient,
) -> None:
    accepted(ledger, licence("l1", [P1], [A], B))
    accepted(ledger, licence("l2", [P1], [A], C))
    facts = refused(ledger, licence("l3", [P1], [A], C, kind="sole"),
                    "INV-6")
    assert facts["overlapping_licence"] in ("l1", "l2")


def test_inv_6_an_ordinary_licence_to_another_licensee_is_refused_under_a_sole_one(
    ledger: TestClient,
) -> None:
    accepted(ledger, licence("l1", [P1], [A], B, kind="sole"))
    accepted(ledger, licence("l2", [P1], [A], B))  # the sole licensee itself: no collision
    facts = refused(ledger, licence("l3", [P1], [A], C), "INV-6")
    assert facts["overlapping_licence"] == "l1"
    accepted(ledger, licence("l4", [P1], [A], C, starts_on="2025-01-01", ends_on="2025-12-31"))


def test_inv_7_no_exclusive_licence_under_an_open_licence(ledger: TestClient) -> None:
    accepted(ledger, {"deal_id": "o1", "kind": "open_licence_declaration",
                      "effective_on": "2020-01-01", "patents": [P1], "owners": [A],
                      "fee": {"mode": "royalty", "rate": "0.02"}, "starts_on": "2020-01-01",
                      "ends_on": "2022-12-31"})
    facts = refused(ledger, licence("l1", [P1], [A], B, kind="exclusive",
                                    starts_on="2020-03-01"), "INV-7")
    assert facts["open_licence"] == "o1"
    accepted(ledger, {"deal_id": "take-1", "kind": "open_licence_take_up",
                      "effective_on": "2020-03-01", "patents": [P1], "licensee": C})


def test_inv_7_no_open_licence_while_an_exclusive_licence_is_in_force(ledger: TestClient) -> None:
    accepted(ledger, licence("l1", [P1], [A], B, kind="exclusive"))
    body = {"deal_id": "o1", "kind": "open_licence_declaration", "effective_on": "2021-01-01",
            "patents": [P1], "owners": [A], "fee": {"mode": "free"}, "starts_on": "2021-01-01",
            "ends_on": "2023-12-31"}
    facts = refused(ledger, body, "INV-7")
    assert facts["licence"] == "l1"


def test_inv_8_sub_licence_needs_the_right_and_stays_in_scope(ledger: TestClient) -> None:
    accepted(ledger, licence("parent", [P1], [A], B, kind="exclusive", sublicensable=True))
    sub = licence("sub", [P1], [B], C, parent_licence="parent", ends_on="2026-01-01")
    facts = refused(ledger, sub, "INV-8")
    assert "exceeds the parent" in " ".join(facts["problems"])
    accepted(ledger, {**sub, "deal_id": "sub-ok", "ends_on": "2024-06-30"})


def test_inv_8_no_sub_licence_without_the_right(ledger: TestClient) -> None:
    accepted(ledger, licence("parent", [P1], [A], B, kind="exclusive"))
    refused(ledger, licence("sub", [P1], [B], C, parent_licence="parent"), "INV-8")


# --- INV-9 / INV-10 / INV-11 / INV-12 ------------------------------------------------------------


def test_inv_9_second_pledge_on_a_pledged_patent_is_refused(ledger: TestClient) -> None:
    accepted(ledger, pledge("p1", [P1], [A], BANK))
    facts = refused(ledger, pledge("p2", [P1], [A], BANK2, effective_on="2020-07-01"), "INV-9")
    assert facts["blocking_pledge"] == "p1"
    assert facts["pledgee"] == BANK


def test_inv_9_pledge_after_release_and_same_day_refinancing_are_accepted(
    ledger: TestClient,
) -> None:
    accepted(ledger, pledge("p1", [P1], [A], BANK))
    accepted(ledger, {"deal_id": "r1", "kind": "pledge_release", "effective_on": "2021-01-01",
                      "pledge": "p1"})
    accepted(ledger, pledge("p2", [P1], [A], BANK2, effective_on="2021-01-01"))


def test_inv_9_pledgor_must_be_an_owner(ledger: TestClient) -> None:
    facts = refused(ledger, pledge("p1", [P1], [B], BANK), "INV-9")
    assert facts["not_owners"] == [B]


def test_inv_10_transfer_of_a_pledged_patent_needs_consent(ledger: TestClient) -> None:
    accepted(ledger, pledge("p1", [P1], [A], BANK))
    facts = refused(ledger, transfer("t1", [P1], [A], {B: "1"}, effective_on="2020-08-01"),
                    "INV-10")
    assert facts == {"patent": P1, "pledge": "p1", "pledgee": BANK}
    accepted(ledger, transfer("t2", [P1], [A], {B: "1"}, effective_on="2020-08-01",
                              pledgee_consent=True))


def test_inv_11_disposal_needs_a_default(ledger: TestClient) -> None:
    accepted(ledger, pledge("p1", [P1], [A], BANK))
    disposal = {"deal_id": "x1", "kind": "disposal", "effective_on": "2023-09-01",
                "pledge": "p1", "mode": "auction",
                "proceeds": {"amount": "6000000", "currency": "CNY"},
                "to_parties": [{"party": C, "share": "1"}]}
    facts = refused(ledger, disposal, "INV-11")
    assert facts["pledge_status"] == "active"
    accepted(ledger, {"deal_id": "dflt", "kind": "default", "effective_on": "2023-07-01",
                      "pledge": "p1", "outstanding": {"amount": "4500000", "currency": "CNY"}})
    answer = accepted(ledger, {**disposal, "deal_id": "x2"})
    event = ledger.get("/v1/events", params={"after": answer["position"] - 1,
                                             "limit": 1}).json()["events"][0]
    assert event["payload"]["surplus"] == {"amount": "1500000", "currency": "CNY"}
    assert event["payload"]["shortfall"] == {"amount": "0", "currency": "CNY"}
    refused(ledger, transfer("t1", [P1], [A], {B: "1"}, effective_on="2023-10-01"), "INV-2")


def test_inv_12_a_released_pledge_cannot_be_released_again(ledger: TestClient) -> None:
    accepted(ledger, pledge("p1", [P1], [A], BANK))
    release = {"deal_id": "r1", "kind": "pledge_release", "effective_on": "2021-01-01",
               "pledge": "p1"}
    accepted(ledger, release)
    facts = refused(ledger, {**release, "deal_id": "r2", "effective_on": "2021-02-01"},
                    "INV-12")
    assert facts["pledge_status"] == "released"


def test_inv_12_lapse_loses_the_collateral(ledger: TestClient) -> None:
    accepted(ledger, pledge("p1", [P1], [A], BANK))
    assert status(ledger, P1, "lapsed", "2021-03-01").status_code == 201
    facts = refused(ledger, {"deal_id": "r1", "kind": "pledge_release",
                             "effective_on": "2021-04-01", "pledge": "p1"}, "INV-12")
    assert facts["pledge_status"] == "collateral_lost"


# --- INV-13 / INV-14 / INV-15 / INV-16 -----------------------------------------------------------


def test_inv_13_late_licence_filing_is_accepted_and_flagged(ledger: TestClient) -> None:
    late = accepted(ledger, licence("l1", [P1], [A], B, starts_on="2020-01-01",
                                    filed_on="2020-04-02"))
    assert late["flags"] == ["INV-13"]
    on_time = accepted(ledger, licence("l2", [P1], [A], C, starts_on="2020-01-01",
                                       filed_on="2020-04-01"))
    assert "flags" not in on_time
    replay = ledger.post("/v1/deals", json=licence("l1", [P1], [A], B, starts_on="2020-01-01",
                                                   filed_on="2020-04-02"))
    assert replay.status_code == 200 and replay.json()["flags"] == ["INV-13"]


def test_inv_14_licence_survives_a_transfer(ledger: TestClient) -> None:
    accepted(ledger, licence("l1", [P1], [A], B, kind="exclusive"))
    accepted(ledger, transfer("t1", [P1], [A], {C: "1"}, effective_on="2021-01-01"))
    facts = refused(ledger, licence("l2", [P1], [C], A, kind="exclusive",
                                    starts_on="2021-02-01"), "INV-14")
    assert facts["overlapping_licence"] == "l1"
    accepted(ledger, {"deal_id": "end-l1", "kind": "licence_termination",
                      "effective_on": "2021-02-01", "licence": "l1"})
    accepted(ledger, licence("l3", [P1], [C], A, kind="exclusive", starts_on="2021-02-01"))


def test_inv_14_a_licence_ends_once(ledger: TestClient) -> None:
    accepted(ledger, licence("l1", [P1], [A], B))
    end = {"deal_id": "e1", "kind": "licence_termination", "effective_on": "2021-01-01",
           "licence": "l1"}
    accepted(ledger, end)
    refused(ledger, {**end, "deal_id": "e2", "effective_on": "2021-06-01"}, "INV-14")


def test_inv_15_equity_contribution_needs_a_valuation(ledger: TestClient) -> None:
    body = {"deal_id": "eq1", "kind": "equity_contribution", "effective_on": "2020-05-01",
            "patents": [P1], "from_parties": [A], "company": C}
    refused(ledger, body, "INV-15")
    accepted(ledger, {**body, "deal_id": "eq2",
                      "valuation": {"amount": "3000000", "currency": "CNY"}})


def test_inv_16_the_event_table_refuses_update_and_delete(ledger: TestClient,
                                                          database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        before = conn.execute("SELECT state FROM ledger_events ORDER BY notification_id "
                              "LIMIT 1").fetchone()
        for statement in ("UPDATE ledger_events SET topic = 'Forged'",
                          "DELETE FROM ledger_events", "TRUNCATE ledger_events"):
            with pytest.raises(psycopg.Error, match="INV-16"):
                conn.execute(statement)
        after = conn.execute("SELECT state FROM ledger_events ORDER BY notification_id "
                             "LIMIT 1").fetchone()
    assert before == after
    accepted(ledger, transfer("t1", [P1], [A], {B: "1"}))


# --- backdating and all-or-nothing --------------------------------------------------------------


def test_backdated_deal_that_would_break_a_later_one_is_refused(ledger: TestClient) -> None:
    accepted(ledger, transfer("t1", [P1], [A], {B: "1"}, effective_on="2021-01-01"))
    # A pledge dated before t1 would leave t1 without the pledgee's consent (INV-10).
    facts = refused(ledger, pledge("p1", [P1], [A], BANK, effective_on="2020-06-01"), "INV-10")
    assert facts["breaks_later_event"] == "t1"


def test_backdated_deal_is_judged_on_the_register_of_its_date(ledger: TestClient) -> None:
    accepted(ledger, transfer("t1", [P1], [A], {B: "1"}, effective_on="2021-01-01"))
    # On 2020-06-01 A still owned P1: A may license it then, and the licence survives t1.
    accepted(ledger, licence("l1", [P1], [A], C, starts_on="2020-06-01"))
    refused(ledger, licence("l2", [P1], [B], C, starts_on="2020-06-01"), "INV-2")


def test_a_deal_on_several_patents_is_all_or_nothing(ledger: TestClient) -> None:
    accepted(ledger, pledge("p1", [UM], [A], BANK))
    facts = refused(ledger, transfer("t1", [P1, UM], [A], {B: "1"}, effective_on="2020-08-01"),
                    "INV-10")
    assert facts["patent"] == UM
    # P1 did not move: A can still transfer it alone.
    accepted(ledger, transfer("t2", [P1], [A], {B: "1"}, effective_on="2020-08-01"))
