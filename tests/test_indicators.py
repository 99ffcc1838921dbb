"""Indicators K1..K10 on a small scenario counted by hand (domain.md section 8)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from projections.projectors import Projectors
from tests.builders import cn_patent, licence, party, patent, pledge, transfer, uscc
from tests.ledger_fixtures import auth, wait_projected, wait_settled

UNI, SME, BIG, LAB, BANK = uscc(40), uscc(41), uscc(42), uscc(43), uscc(44)
QUERY = """query($from: Date!, $to: Date!, $g: String!, $ex: Boolean!, $kind: String) {
  indicators(from: $from, to: $to, granularity: $g, excludeFlagged: $ex,
             recipientKind: $kind) {
    indicator period dimension value count patents amount yoyGrowth target progress } }"""


def post(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/v1/deals", json=body)
    assert response.status_code == 201, response.text


def table(client: TestClient, projectors: Projectors, exclude: bool = True,
          kind: str | None = None, granularity: str = "year", role: str = "auditor",
          ) -> dict[tuple[str, str, str], Any]:
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    response = client.post("/graphql", headers=auth(role), json={
        "query": QUERY, "variables": {"from": "2021-01-01", "to": "2022-12-31",
                                      "g": granularity, "ex": exclude, "kind": kind}})
    body = response.json()
    assert "errors" not in body, body
    return {(r["indicator"], r["period"], r["dimension"]): r for r in body["data"]["indicators"]}


def scenario(client: TestClient) -> list[str]:
    party(client, UNI, kind="university", region="CN-34")
    party(client, SME, size="small", region="CN-34")
    party(client, BIG, size="large", region="CN-11")
    party(client, LAB, kind="research_institute", region="CN-11")
    party(client, BANK, kind="bank", region="CN-11")
    numbers = [cn_patent(2015, 1, 900 + i) for i in range(6)]
    owners = [UNI, UNI, UNI, LAB, BIG, BIG]
    for number, owner in zip(numbers, owners, strict=True):
        patent(client, number, {owner: "1"}, filed_on="2015-03-01", granted_on="2017-05-01")
    # 2021: the university sells two patents to the SME (one of them for 1 yuan: AR-5 flags
    # it), licenses one to BIG; BIG pledges one.
    post(client, transfer("T1", [numbers[0]], [UNI], {SME: "1"}, "2021-03-01",
                          price={"amount": "300000", "currency": "CNY"}))
    post(client, transfer("T2", [numbers[1]], [UNI], {SME: "1"}, "2021-04-01",
                          price={"amount": "1", "currency": "CNY"}))
    post(client, licence("L1", [numbers[2]], [UNI], BIG, starts_on="2021-05-01",
                         ends_on="2025-04-30"))
    post(client, pledge("P1", [numbers[4]], [BIG], BANK, "2021-06-01", "2024-06-01"))
    # 2022: the institute sells to the SME; the pledge is released; another pledge.
    post(client, transfer("T3", [numbers[3]], [LAB], {SME: "1"}, "2022-02-01",
                          price={"amount": "500000", "currency": "CNY"}))
    post(client, {"deal_id": "R1", "kind": "pledge_release", "effective_on": "2022-03-01",
                  "patents": [numbers[4]], "pledge": "P1"})
    post(client, pledge("P2", [numbers[5]], [BIG], BANK, "2022-04-01", "2025-04-01"))
    return numbers


def test_indicators_match_a_hand_count(client: TestClient, projectors: Projectors) -> None:
    scenario(client)
    got = table(client, projectors)
    y21, y22 = "2021-01-01", "2022-01-01"
    # K1: 2021 has T1 only (T2 is flagged by AR-5 and left out); 2022 has T3.
    assert got[("K1", y21, "transfers")]["count"] == 1
    assert got[("K1", y21, "transfers")]["amount"] == "300000"
    assert got[("K1", y22, "transfers")]["count"] == 1
    assert got[("K1", y22, "transfers")]["yoyGrowth"] == "0.0000"
    # K2: one ordinary lump-sum licence in 2021.
    assert got[("K2", y21, "ordinary/lump_sum")]["amount"] == "50000"
    # K4: patents received by SMEs: 2021 one (T2 flagged), 2022 one.
    assert got[("K4", y21, "small")]["patents"] == 1
    assert got[("K4", y22, "small")]["patents"] == 1
    # K5: leaving universities and institutes, by recipient kind (both enterprises).
    assert got[("K5", y21, "enterprise")]["count"] == 2  # T1 and L1
    assert got[("K5", y22, "enterprise")]["count"] == 1  # T3
    # K6: pledge financing.
    assert got[("K6", y21, "registered")]["amount"] == "5000000"
    assert got[("K6", y21, "under_10m")]["count"] == 1
    assert got[("K6", y22, "released")]["count"] == 1
    assert got[("K6", y22, "registered")]["count"] == 1
    assert got[("K6", y21, "enterprises")]["count"] == 1
    # K10: the flagged deal that was left out.
    assert got[("K10", y21, "flagged_left_out")]["count"] == 1
    # K7: no target rows without a programme (issue 17: a target belongs to a programme and
    # its region; tests/test_programme_indicators.py counts progress against them).
    assert not [key for key in got if key[0] == "K7"]


def test_flagged_deals_come_back_on_request_and_filters_apply(
        client: TestClient, projectors: Projectors) -> None:
    scenario(client)
    everything = table(client, projectors, exclude=False)
    assert everything[("K1", "2021-01-01", "transfers")]["count"] == 2
    assert everything[("K4", "2021-01-01", "small")]["patents"] == 2
    banks = table(client, projectors, kind="bank")
    assert {k[0] for k in banks if k[0] not in ("K7",)} <= {"K6"}
    quarters = table(client, projectors, granularity="quarter")
    assert quarters[("K1", "2021-01-01", "transfers")]["count"] == 1


def test_a_platform_cannot_find_flagged_deals_through_the_figures(
        client: TestClient, projectors: Projectors) -> None:
    """Platforms read no anomaly data: their figures count flagged deals whatever they ask,
    so comparing two answers reveals nothing (K10's flagged row is not theirs either)."""
    scenario(client)
    everything = table(client, projectors, exclude=False)
    assert everything[("K10", "2021-01-01", "flagged_left_out")]["count"] == 1
    unflagged = {k: row for k, row in everything.items() if k[2] != "flagged_left_out"}
    for exclude in (True, False):
        assert table(client, projectors, exclude=exclude, role="platform") == unflagged


def test_bad_ranges_are_refused(client: TestClient) -> None:
    response = client.post("/graphql", headers=auth("auditor"), json={
        "query": QUERY, "variables": {"from": "2022-01-01", "to": "2021-12-31", "g": "year",
                                      "ex": True}})
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    response = client.post("/graphql", headers=auth("auditor"), json={
        "query": QUERY, "variables": {"from": "2021-01-01", "to": "2021-12-31", "g": "week",
                                      "ex": True}})
    assert "granularity" in response.json()["errors"][0]["message"]


def test_a_dismissed_anomaly_no_longer_keeps_its_deal_out(
        client: TestClient, projectors: Projectors) -> None:
    scenario(client)
    table(client, projectors)  # projected
    found = client.post("/graphql", headers=auth("regulator"), json={
        "query": '{ anomalies(filter: {rule: "AR-5"}) { edges { node { id } } } }'}).json()
    [edge] = found["data"]["anomalies"]["edges"]
    response = client.post(f"/v1/anomalies/{edge['node']['id']}/finding",
                           headers=auth("regulator"),
                           json={"decision": "dismissed", "note": "a gift between affiliates"})
    assert response.status_code == 201, response.text
    got = table(client, projectors)
    assert got[("K1", "2021-01-01", "transfers")]["count"] == 2  # T2 counts again
    assert ("K10", "2021-01-01", "flagged_left_out") not in got


def three_ways(client: TestClient, uspto: bool = True) -> Any:
    """A check that the rollup with its settled adjustments, the rollup taking flagged deals
    out at query time, and the exact query over the deal facts give the same rows (over the
    USPTO file's years too when it was imported)."""
    from datetime import date

    from projections.indicators import query_parameters, rows_from

    reads = client.app.state.reads  # type: ignore[attr-defined]

    def same(low: date, high: date, granularity: str, exclude: bool) -> None:
        parameters = query_parameters(low, high, granularity, None, None, exclude, None)
        assert parameters["rollup"]
        raw = rows_from(client.portal.call(reads.indicator_rows, parameters, "facts"))  # type: ignore[union-attr]
        assert raw, "nothing counted: the comparison would prove nothing"
        for source in ("adjusted", "rollup", None):
            rows = rows_from(client.portal.call(reads.indicator_rows, parameters, source))  # type: ignore[union-attr]
            assert rows == raw, (source, low, granularity, exclude,
                                 set(rows).symmetric_difference(raw))

    def compare() -> None:
        assert client.portal.call(reads.flags_settled)  # type: ignore[union-attr]
        for exclude in (True, False):
            if uspto:
                same(date(2006, 1, 1), date(2015, 12, 31), "year", exclude)
                same(date(2014, 1, 1), date(2016, 12, 31), "quarter", exclude)
                same(date(2015, 10, 1), date(2016, 1, 31), "month", exclude)
            same(date(2016, 1, 1), date(2022, 12, 31), "year", exclude)
            same(date(2021, 1, 1), date(2022, 12, 31), "quarter", exclude)
            same(date(2021, 1, 1), date(2021, 12, 31), "month", exclude)

    return compare


def dismiss_all(client: TestClient, rule: str) -> None:
    query = '{ anomalies(filter: {rule: "RULE"}) { edges { node { id } } } }'
    found = client.post("/graphql", headers=auth("regulator"),
                        json={"query": query.replace("RULE", rule)}).json()
    assert found["data"]["anomalies"]["edges"], f"no {rule} flag to dismiss"
    for edge in found["data"]["anomalies"]["edges"]:
        response = client.post(f"/v1/anomalies/{edge['node']['id']}/finding",
                               headers=auth("regulator"),
                               json={"decision": "dismissed", "note": "checked"})
        assert response.status_code == 201, response.text


def test_the_rollup_answers_exactly_as_the_facts_do(
        client: TestClient, projectors: Projectors) -> None:
    """The pre-aggregated paths (whole periods, as known now) against the exact query over
    deal facts, on the hand-counted scenario plus the real USPTO file, with flagged deals
    left out and kept: while a patent's only deal in a period is flagged (it leaves the
    distinct count), after an unflagged deal brings it back, and after a regulator dismisses
    the flag."""
    from datetime import date

    from importers.uspto import UsptoImport
    from projections.indicators import query_parameters
    from tests.test_uspto_import import FILE

    numbers = scenario(client)
    service = client.app.state.service  # type: ignore[attr-defined]
    UsptoImport(service).run([FILE])
    wait_projected(projectors, service.store.head())
    compare = three_ways(client)
    compare()
    # T2 (flagged, AR-5) was numbers[1]'s only transfer of 2021: the SME sells it on, at a
    # price, so the patent counts again in 2021's K1 while T2 stays out.
    post(client, transfer("T4", [numbers[1]], [SME], {BIG: "1"}, "2021-09-01",
                          price={"amount": "200000", "currency": "CNY"}))
    got = table(client, projectors)
    assert got[("K1", "2021-01-01", "transfers")]["count"] == 2  # T1 and T4
    assert got[("K1", "2021-01-01", "transfers")]["patents"] == 2
    compare()
    dismiss_all(client, "AR-5")
    wait_projected(projectors, service.store.head())
    compare()
    # A range that does not start a period is answered from the facts.
    assert not query_parameters(date(2021, 2, 1), date(2021, 12, 31), "quarter", None, None,
                                True, None)["rollup"]


def test_after_a_rebuild_of_the_flags_the_adjustments_are_computed_afresh(
        client: TestClient, projectors: Projectors, database_url: str) -> None:
    """A rebuilt anomalies projection may hold other flags than the adjustments were settled
    for: readers get the query that takes flagged deals out itself until the settler has
    computed them afresh, then the adjustments again, and both agree with the facts."""
    from projections.anomalies import AnomalyProjection
    from projections.rebuild import rebuild

    scenario(client)
    service = client.app.state.service  # type: ignore[attr-defined]
    wait_projected(projectors, service.store.head())
    compare = three_ways(client, uspto=False)
    compare()
    before = table(client, projectors)
    dismiss_all(client, "AR-5")
    rebuild(database_url, service.store, AnomalyProjection())
    wait_settled(client)
    compare()
    after = table(client, projectors)
    assert after[("K1", "2021-01-01", "transfers")]["count"] == 2  # T2 counts again
    assert before[("K1", "2021-01-01", "transfers")]["count"] == 1
    assert ("K10", "2021-01-01", "flagged_left_out") not in after
