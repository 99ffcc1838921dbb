"""Anomaly rules AR-1..AR-12: each planted pattern is flagged with its evidence, and
its near miss is not. Flags never refuse: every deal here is accepted (201)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.projectors import Projectors
from tests.builders import cn_patent, licence, party, patent, pledge, transfer, uscc
from tests.ledger_fixtures import auth, wait_projected

A, B, C, D, E = (uscc(10 + i) for i in range(5))
BANK = uscc(90)
UNI = uscc(91)
FLAGS = """query($rule: String) { anomalies(filter: {rule: $rule}, first: 100) { edges { node {
    id rule ruleVersion score explanation status detectedOn
    parties { id } patents { number } evidence { position dealId kind } } } } }"""


def post(client: TestClient, body: dict[str, Any], path: str = "/v1/deals",
         role: str = "platform") -> int:
    response = client.post(path, json=body, headers=auth(role))
    assert response.status_code == 201, response.text
    return int(response.json().get("position", 0))


def flags(client: TestClient, projectors: Projectors, rule: str) -> list[dict[str, Any]]:
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    response = client.post("/graphql", json={"query": FLAGS, "variables": {"rule": rule}},
                           headers=auth("regulator"))
    body = response.json()
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["anomalies"]["edges"]]


def deals(flag: dict[str, Any]) -> list[str | None]:
    return [e["dealId"] for e in flag["evidence"]]


def numbers(serial: int, kind: int = 1) -> str:
    return cn_patent(2016, kind, serial)


@pytest.fixture
def world(client: TestClient) -> TestClient:
    for p in (A, B, C, D, E):
        party(client, p)
    party(client, BANK, kind="bank")
    party(client, UNI, kind="university")
    return client


def register(client: TestClient, serial: int, owner: str = A, kind: int = 1) -> str:
    number = numbers(serial, kind)
    patent(client, number, {owner: "1"}, filed_on="2016-03-01", granted_on="2018-06-01")
    return number


def test_ar_1_round_trip_within_a_year_but_not_after_400_days(
        world: TestClient, projectors: Projectors) -> None:
    fast, slow = register(world, 1), register(world, 2)
    post(world, transfer("T1", [fast], [A], {B: "1"}, "2020-01-10"))
    post(world, transfer("T2", [fast], [B], {C: "1"}, "2020-03-01"))
    post(world, transfer("T3", [fast], [C], {A: "1"}, "2020-06-01"))
    post(world, transfer("N1", [slow], [A], {B: "1"}, "2020-01-10"))
    post(world, transfer("N2", [slow], [B], {A: "1"}, "2021-02-13"))  # 400 days later
    found = flags(world, projectors, "AR-1")
    assert len(found) == 1
    assert deals(found[0]) == ["T1", "T2", "T3"]
    assert {p["id"] for p in found[0]["parties"]} == {A, B, C}
    assert "came back on 2020-06-01, 143 days later" in found[0]["explanation"]
    assert found[0]["ruleVersion"] == 1 and found[0]["status"] == "open"


def test_ar_2_rapid_flips_and_short_holdings(world: TestClient, projectors: Projectors) -> None:
    busy, brief, calm = register(world, 3), register(world, 4), register(world, 5)
    post(world, transfer("F1", [busy], [A], {B: "1"}, "2020-01-01"))
    post(world, transfer("F2", [busy], [B], {C: "1"}, "2020-05-01"))
    post(world, transfer("F3", [busy], [C], {D: "1"}, "2020-09-01"))
    post(world, transfer("H1", [brief], [A], {B: "1"}, "2020-01-01"))
    post(world, transfer("H2", [brief], [B], {C: "1"}, "2020-02-15"))  # held 45 days
    post(world, transfer("K1", [calm], [A], {B: "1"}, "2020-01-01"))
    post(world, transfer("K2", [calm], [B], {C: "1"}, "2020-08-01"))
    post(world, transfer("K3", [calm], [C], {D: "1"}, "2021-03-01"))
    found = {tuple(deals(f)) for f in flags(world, projectors, "AR-2")}
    assert found == {("F1", "F2", "F3"), ("H1", "H2")}


def test_ar_3_inflow_before_a_subsidy_stronger_for_a_young_party(
        world: TestClient, projectors: Projectors) -> None:
    young, older = uscc(60), uscc(61)
    party(world, young, founded_on="2020-01-15")
    party(world, older, founded_on="2010-01-15")
    for i in range(5):
        post(world, transfer(f"Y{i}", [register(world, 10 + i)], [A], {young: "1"},
                             f"2020-0{3 + i % 2}-1{i}"))
    for i in range(4):  # one short of the threshold
        post(world, transfer(f"O{i}", [register(world, 20 + i)], [A], {older: "1"},
                             "2020-04-01"))
    for who, sid in ((young, "S-Y"), (older, "S-O")):
        post(world, {"subsidy_id": sid, "party": who, "programme": "transfer award",
                     "amount": {"amount": "100000", "currency": "CNY"},
                     "awarded_on": "2020-05-20", "deals": []}, "/v1/subsidies", "regulator")
    found = flags(world, projectors, "AR-3")
    assert len(found) == 1
    assert [p["id"] for p in found[0]["parties"]].count(young) == 1
    assert found[0]["score"] == 0.9 and "under a year old" in found[0]["explanation"]
    assert sorted(d for d in deals(found[0]) if d) == [f"Y{i}" for i in range(5)]


def test_ar_3_counts_the_90_days_up_to_the_award_whenever_they_are_posted(
        world: TestClient, projectors: Projectors) -> None:
    """The projection reads back only the inflows inside an award's window (a party's whole
    history grows with the log): both ends count, the days outside do not, and inflows
    posted after the award still count toward it."""
    edges, outside = uscc(64), uscc(65)
    for who in (edges, outside):
        party(world, who, founded_on="2015-01-01")
    days = ["2020-02-20", "2020-03-15", "2020-04-01"]  # 90 days before 2020-05-20, and in
    for i, day in enumerate(days):
        post(world, transfer(f"W{i}", [register(world, 200 + i)], [A], {edges: "1"}, day))
    for i, day in enumerate(["2020-02-19", "2020-03-15", "2020-04-01", "2020-04-02",
                             "2020-05-20"]):  # the first 91 days before: four count
        post(world, transfer(f"X{i}", [register(world, 210 + i)], [A], {outside: "1"}, day))
    for who, sid in ((edges, "S-E"), (outside, "S-X")):
        post(world, {"subsidy_id": sid, "party": who, "programme": "transfer award",
                     "amount": {"amount": "100000", "currency": "CNY"},
                     "awarded_on": "2020-05-20", "deals": []}, "/v1/subsidies", "regulator")
    assert flags(world, projectors, "AR-3") == []
    post(world, transfer("W3", [register(world, 203)], [A], {edges: "1"}, "2020-05-20"))
    post(world, transfer("W4", [register(world, 204)], [A], {edges: "1"}, "2020-05-21"))
    post(world, transfer("X5", [register(world, 215)], [A], {outside: "1"}, "2020-05-21"))
    assert flags(world, projectors, "AR-3") == []  # W4 came a day after the award
    post(world, transfer("W5", [register(world, 205)], [A], {edges: "1"}, "2020-04-10"))
    found = flags(world, projectors, "AR-3")
    assert len(found) == 1
    assert sorted(d for d in deals(found[0]) if d) == ["W0", "W1", "W2", "W3", "W5"]


def test_ar_4_a_utility_model_in_two_parties_subsidies_but_not_an_invention(
        world: TestClient, projectors: Projectors) -> None:
    model = register(world, 30, kind=2)
    invention = register(world, 31)
    post(world, licence("LU1", [model], [A], B, starts_on="2019-01-01", ends_on="2020-12-31"))
    post(world, licence("LU2", [model], [A], C, starts_on="2019-01-01", ends_on="2020-12-31"))
    post(world, licence("LI1", [invention], [A], B, starts_on="2019-01-01"))
    post(world, licence("LI2", [invention], [A], C, starts_on="2019-01-01"))
    for sid, who, deal_ids in (("S1", B, ["LU1", "LI1"]), ("S2", C, ["LU2", "LI2"])):
        post(world, {"subsidy_id": sid, "party": who, "programme": "conversion",
                     "amount": {"amount": "5000", "currency": "CNY"},
                     "awarded_on": "2019-06-01", "deals": deal_ids}, "/v1/subsidies",
             "regulator")
    found = flags(world, projectors, "AR-4")
    assert len(found) == 1
    assert [p["number"] for p in found[0]["patents"]] == [model]
    assert {p["id"] for p in found[0]["parties"]} == {B, C}


def test_ar_5_nominal_price_flagged_fair_related_sale_not(world: TestClient,
                                                          projectors: Projectors) -> None:
    sister, friend = uscc(62), uscc(63)
    party(world, sister, related_to=[A])
    party(world, friend, related_to=[A])
    cheap, fair, gift = register(world, 40), register(world, 41), register(world, 42)
    post(world, transfer("P1", [cheap], [A], {B: "1"}, price={"amount": "1", "currency": "CNY"}))
    post(world, transfer("P2", [fair], [A], {sister: "1"},
                         price={"amount": "800000", "currency": "CNY"}))
    post(world, transfer("P3", [gift], [A], {friend: "1"},
                         price={"amount": "0.5", "currency": "CNY"}))
    found = {deals(f)[0]: f for f in flags(world, projectors, "AR-5")}
    assert set(found) == {"P1", "P3"}
    assert found["P3"]["score"] == 0.85 and "between related parties" in found["P3"]["explanation"]
    assert found["P1"]["score"] == 0.6


def test_ar_6_free_licence_counted_for_a_subsidy(world: TestClient,
                                                 projectors: Projectors) -> None:
    number = register(world, 50)
    post(world, licence("FREE", [number], [A], B, starts_on="2019-01-01",
                        fee={"mode": "free"}))
    post(world, licence("PAID", [number], [A], C, starts_on="2019-01-01"))
    post(world, {"subsidy_id": "S6", "party": A, "programme": "conversion",
                 "amount": {"amount": "20000", "currency": "CNY"}, "awarded_on": "2019-09-01",
                 "deals": ["FREE", "PAID"]}, "/v1/subsidies", "regulator")
    found = flags(world, projectors, "AR-6")
    assert len(found) == 1 and "FREE" in deals(found[0]) and "PAID" not in deals(found[0])


def test_ar_7_dying_assets(world: TestClient, projectors: Projectors) -> None:
    grace, lapsing, healthy = register(world, 60), register(world, 61), register(world, 62)
    assert world.post(f"/v1/patents/{grace}/status",
                      json={"status": "fee_grace", "effective_on": "2020-02-01"}
                      ).status_code == 201
    post(world, transfer("G1", [grace], [A], {B: "1"}, "2020-03-01"))
    post(world, transfer("L1", [lapsing], [A], {B: "1"}, "2020-03-01"))
    post(world, transfer("OK", [healthy], [A], {B: "1"}, "2020-03-01"))
    # Recorded later: the lapse six months after the sale completes the pattern.
    assert world.post(f"/v1/patents/{lapsing}/status",
                      json={"status": "lapsed", "effective_on": "2020-09-01"}
                      ).status_code == 201
    found = {next(d for d in deals(f) if d): f["explanation"]
             for f in flags(world, projectors, "AR-7")}
    assert set(found) == {"G1", "L1"}
    assert "fee grace period" in found["G1"] and "lapsed 184 days later" in found["L1"]


def test_ar_8_university_to_new_company_to_pledge(world: TestClient,
                                                  projectors: Projectors) -> None:
    shell, established = uscc(64), uscc(65)
    party(world, shell, founded_on="2020-01-01", size="micro")
    party(world, established, founded_on="2012-01-01", size="medium")
    fresh, old = register(world, 70, owner=UNI), register(world, 71, owner=UNI)
    post(world, transfer("U1", [fresh], [UNI], {shell: "1"}, "2020-03-01"))
    post(world, pledge("UP1", [fresh], [shell], BANK, "2020-05-01"))
    post(world, transfer("U2", [old], [UNI], {established: "1"}, "2020-03-01"))
    post(world, pledge("UP2", [old], [established], BANK, "2020-05-01"))
    found = flags(world, projectors, "AR-8")
    assert len(found) == 1 and deals(found[0]) == ["U1", "UP1"]


def test_ar_9_pledge_churn_but_not_same_day_refinancing(world: TestClient,
                                                        projectors: Projectors) -> None:
    churned, refinanced = register(world, 80), register(world, 81)

    def cycle(number: str, tag: str, days: list[tuple[str, str]]) -> None:
        post(world, pledge(f"{tag}0", [number], [A], BANK, "2020-01-01"))
        for i, (release_on, pledge_on) in enumerate(days):
            post(world, {"deal_id": f"{tag}R{i}", "kind": "pledge_release",
                         "effective_on": release_on, "patents": [number],
                         "pledge": f"{tag}{i}"})
            post(world, pledge(f"{tag}{i + 1}", [number], [A], BANK, pledge_on))

    cycle(churned, "C", [("2020-03-01", "2020-03-10"), ("2020-05-01", "2020-05-20")])
    cycle(refinanced, "R", [("2020-03-01", "2020-03-01"), ("2020-05-01", "2020-05-01")])
    found = flags(world, projectors, "AR-9")
    assert len(found) == 1
    assert deals(found[0]) == ["CR0", "C1", "CR1", "C2"]


def test_ar_10_sale_by_a_listed_party_even_when_the_listing_is_recorded_later(
        world: TestClient, projectors: Projectors) -> None:
    listed_sale, earlier_sale = register(world, 90), register(world, 91)
    post(world, transfer("X1", [earlier_sale], [A], {B: "1"}, "2019-06-01"))
    post(world, transfer("X2", [listed_sale], [A], {C: "1"}, "2020-03-01"))
    assert flags(world, projectors, "AR-10") == []
    post(world, {"listing_id": "LIST-A", "party": A, "list": "dishonest",
                 "grounds": "court judgment unperformed", "starts_on": "2020-01-01",
                 "ends_on": "2022-12-31"}, "/v1/listings", "regulator")
    found = flags(world, projectors, "AR-10")
    assert len(found) == 1 and deals(found[0])[0] == "X2"
    assert "while on the dishonest list (LIST-A" in found[0]["explanation"]


def test_ar_12_fan_out_to_new_small_buyers(world: TestClient, projectors: Projectors) -> None:
    buyers = [uscc(70 + i) for i in range(6)]
    for i, buyer in enumerate(buyers):
        size = "large" if i == 5 else "micro"
        party(world, buyer, size=size, founded_on="2020-01-01")
    for i, buyer in enumerate(buyers[:5]):
        post(world, transfer(f"FO{i}", [register(world, 100 + i)], [A], {buyer: "1"},
                             f"2020-03-0{i + 1}"))
    # B sells to four new small buyers and one large one: a near miss.
    for i, buyer in enumerate(buyers[1:]):
        post(world, transfer(f"FB{i}", [register(world, 110 + i, owner=B)], [B], {buyer: "1"},
                             f"2020-03-0{i + 1}"))
    found = flags(world, projectors, "AR-12")
    assert len(found) == 1
    assert sorted(deals(found[0])) == [f"FO{i}" for i in range(5)]


def test_ar_12_counts_buyers_under_365_days_old_on_the_sale(
        world: TestClient, projectors: Projectors) -> None:
    """The projection reads back only the sales with a new small buyer: a buyer founded 365
    days before the sale is not new, one founded 364 days before is, one with no founding
    date never is, and a large co-buyer does not hide a small one."""
    sizes = {"micro": [uscc(130 + i) for i in range(4)], "large": [uscc(140)]}
    aged, young, undated = uscc(141), uscc(142), uscc(143)
    for who in sizes["micro"]:
        party(world, who, size="micro", founded_on="2019-06-01")
    party(world, sizes["large"][0], size="large", founded_on="2019-06-01")
    party(world, aged, size="small", founded_on="2019-03-02")  # 365 days before 2020-03-01
    party(world, young, size="small", founded_on="2019-03-03")  # 364 days
    party(world, undated, size="small")
    for seller, last, serial in ((C, aged, 300), (D, young, 310), (E, undated, 320)):
        for i, buyer in enumerate(sizes["micro"][:3]):
            post(world, transfer(f"{seller[-4:]}-{i}", [register(world, serial + i, owner=seller)],
                                 [seller], {buyer: "1"}, f"2020-02-1{i}"))
        post(world, transfer(f"{seller[-4:]}-L", [register(world, serial + 5, owner=seller)],
                             [seller], {last: "1"}, "2020-03-01"))
        post(world, transfer(f"{seller[-4:]}-M", [register(world, serial + 6, owner=seller)],
                             [seller], {sizes["micro"][3]: "0.5", sizes["large"][0]: "0.5"},
                             "2020-03-02"))
    found = flags(world, projectors, "AR-12")
    assert [sorted(p["id"] for p in f["parties"])
            for f in found] == [sorted({D, young, *sizes["micro"]})]
    assert sorted(d for d in deals(found[0]) if d) == sorted(
        [f"{D[-4:]}-{i}" for i in range(3)] + [f"{D[-4:]}-L", f"{D[-4:]}-M"])


def test_findings_set_the_status_and_platforms_cannot_read_anomalies(
        world: TestClient, projectors: Projectors) -> None:
    number = register(world, 120)
    post(world, transfer("Z1", [number], [A], {B: "1"}, price={"amount": "1", "currency": "CNY"}))
    flag = flags(world, projectors, "AR-5")[0]
    post(world, {"decision": "confirmed", "note": "sham sale"},
         f"/v1/anomalies/{flag['id']}/finding", "regulator")
    again = flags(world, projectors, "AR-5")[0]
    assert again["id"] == flag["id"] and again["status"] == "confirmed"
    response = world.post("/graphql", json={"query": "{ anomalies { edges { node { id } } } }"},
                          headers=auth("platform"))
    errors = response.json()["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


def test_ar_11_inventors_changed_around_a_sale_but_not_a_year_away(
        world: TestClient, projectors: Projectors) -> None:
    """Before or after the sale, within 180 days; a merger is a succession, not a sale. A
    backdated change is judged where it falls in the patent's history."""
    after, before, far, merged = (register(world, 60 + i) for i in range(4))
    post(world, transfer("I1", [after], [A], {B: "1"}, "2021-03-01"))
    change = post(world, {"inventors": ["Wang Fang", "Li Lei"], "effective_on": "2021-04-15"},
                  f"/v1/patents/{after}/inventors")
    post(world, {"inventors": ["Zhao Min"], "effective_on": "2021-01-10"},
         f"/v1/patents/{before}/inventors")
    post(world, transfer("I2", [before], [A], {C: "1"}, "2021-06-30"))  # 171 days later
    post(world, transfer("N1", [far], [A], {D: "1"}, "2021-03-01"))
    post(world, {"inventors": ["Zhao Min"], "effective_on": "2022-04-01"},  # 396 days later
         f"/v1/patents/{far}/inventors")
    post(world, transfer("N2", [merged], [A], {E: "1"}, "2021-03-01",
                         consideration="merger"))
    post(world, {"inventors": ["Qian Yu"], "effective_on": "2021-03-20"},
         f"/v1/patents/{merged}/inventors")
    found = {f["patents"][0]["number"]: f for f in flags(world, projectors, "AR-11")}
    assert set(found) == {after, before}
    assert deals(found[after]) == ["I1", None]
    assert found[after]["evidence"][1] == {"position": change, "dealId": None,
                                           "kind": "inventors_changed"}
    assert (f"the inventors of {after} were changed on 2021-04-15, 45 days after its "
            f"transfer from {A} to {B} on 2021-03-01") == found[after]["explanation"]
    assert "171 days before its transfer" in found[before]["explanation"]
    assert {p["id"] for p in found[before]["parties"]} == {A, C}


def test_an_inventor_change_needs_a_known_patent_and_names(world: TestClient) -> None:
    number = register(world, 70)
    count = world.get("/v1/events?limit=1000", headers=auth("auditor")).json()
    for path, body, problem in (
        (f"/v1/patents/{numbers(71)}/inventors", {"inventors": ["X"],
                                                  "effective_on": "2021-01-01"},
         "unknown patent"),
        (f"/v1/patents/{number}/inventors", {"inventors": [], "effective_on": "2021-01-01"},
         "at least 1"),
        (f"/v1/patents/{number}/inventors", {"inventors": [" "], "effective_on": "2021-01-01"},
         "at least 1 character"),
        ("/v1/patents/12345/inventors", {"inventors": ["X"], "effective_on": "2021-01-01"},
         "patent number"),
    ):
        response = world.post(path, json=body)
        assert response.status_code == 422 and problem in response.text, response.text
    assert world.post(f"/v1/patents/{number}/inventors", headers=auth("auditor"),
                      json={"inventors": ["X"], "effective_on": "2021-01-01"}
                      ).status_code == 403
    assert world.get("/v1/events?limit=1000", headers=auth("auditor")).json() == count
