"""Programme progress and nested regions through the public API, against hand counts
(domain.md s9; docs/programmes.md), and open-licence take-ups counted as licences.

The scenario, posted through REST and read through GraphQL: Henan's programme (豫知〔2021〕30号,
2021-03-01 to 2023-12-31, region 410000) and parties in Zhengzhou (410100, one of its
counties 410102), Luoyang (410300) and Nanjing (320100, outside Henan).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from projections.projectors import Projectors
from tests.builders import cn_patent, licence, party, patent, pledge, transfer, uscc
from tests.ledger_fixtures import auth, wait_projected, wait_settled

UNI, SME1, SME2, SME3, BIG, BANK = (uscc(70 + i) for i in range(6))
P = [cn_patent(2015, 1, 950 + i) for i in range(10)]
HENAN = "henan-2021-30"
QUERY = """query($from: Date!, $to: Date!, $region: String, $programme: String,
                 $ex: Boolean! = true) {
  indicators(from: $from, to: $to, granularity: "year", region: $region,
             programme: $programme, excludeFlagged: $ex) {
    indicator period dimension value count patents amount yoyGrowth target expected progress } }"""


def post(client: TestClient, body: dict[str, Any]) -> int:
    response = client.post("/v1/deals", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["position"])


def cny(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "CNY"}


def offer(deal_id: str, number: str, owner: str, fee: dict[str, Any]) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": "open_licence_declaration", "effective_on": "2022-02-01",
            "patents": [number], "owners": [owner], "fee": fee, "starts_on": "2022-02-01",
            "ends_on": "2026-12-31"}


def take_up(deal_id: str, number: str, licensee: str, day: str) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": "open_licence_take_up", "effective_on": day,
            "patents": [number], "licensee": licensee}


def scenario(client: TestClient) -> None:
    for who, kind, size, region in [(UNI, "university", None, "410100"),
                                    (SME1, "enterprise", "small", "410102"),
                                    (SME2, "enterprise", "micro", "410300"),
                                    (SME3, "enterprise", "small", "320100"),
                                    (BIG, "enterprise", "large", "410100"),
                                    (BANK, "bank", None, "110000")]:
        party(client, who, kind=kind, region=region, founded_on="2010-01-01",
              **({"size": size} if size else {}))
    owners = [UNI, UNI, UNI, UNI, UNI, BIG, SME2, BIG, UNI, UNI]
    for number, owner in zip(P, owners, strict=True):
        patent(client, number, {owner: "1"}, filed_on="2015-03-01", granted_on="2017-05-01")
    # Before the programme: a university sale to a Zhengzhou SME (counted by no target).
    post(client, transfer("T0", [P[0]], [UNI], {SME1: "1"}, "2020-12-01"))
    # 2021: the university sells to SME1 (a county of Zhengzhou), licenses to SME2 (Luoyang),
    # sells to SME3 (Nanjing: K5 counts it, K4 does not); three pledges in Henan.
    post(client, transfer("T1", [P[1]], [UNI], {SME1: "1"}, "2021-04-01",
                          price=cny("300000")))
    post(client, licence("L2", [P[2]], [UNI], SME2, starts_on="2021-05-01",
                         ends_on="2025-04-30"))
    post(client, transfer("T3", [P[3]], [UNI], {SME3: "1"}, "2021-06-01",
                          price=cny("200000")))
    post(client, pledge("P1", [P[1]], [SME1], BANK, "2021-07-01", "2024-06-01"))
    post(client, pledge("P6", [P[6]], [SME2], BANK, "2021-09-01", "2024-06-01",
                        secured_amount=cny("1000000")))
    # 2022: a large Zhengzhou company pledges; three open licences are taken up.
    post(client, pledge("P5", [P[5]], [BIG], BANK, "2022-01-10", "2025-01-10",
                        secured_amount=cny("20000000")))
    post(client, offer("O4", P[4], UNI, {"mode": "lump_sum", "amount": cny("20000")}))
    post(client, take_up("U4", P[4], SME2, "2022-03-01"))  # an SME from a university
    post(client, offer("O7", P[7], BIG, {"mode": "lump_sum", "amount": cny("10000")}))
    post(client, take_up("U7", P[7], SME1, "2022-03-15"))  # an SME from a company
    post(client, offer("O8", P[8], UNI, {"mode": "free"}))
    post(client, transfer("T8", [P[8]], [UNI], {BIG: "1"}, "2022-04-01"))
    post(client, take_up("U8", P[8], SME2, "2022-05-01"))  # from the company that bought it
    # After the programme's end: counted by no target of it.
    post(client, transfer("T9", [P[9]], [UNI], {SME1: "1"}, "2024-01-10"))


def ask(client: TestClient, projectors: Projectors, role: str = "auditor",
        **variables: Any) -> Any:
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    return client.post("/graphql", headers=auth(role),
                       json={"query": QUERY, "variables": variables}).json()


def rows(client: TestClient, projectors: Projectors, **variables: Any
         ) -> dict[tuple[str, str, str], Any]:
    body = ask(client, projectors, **variables)
    assert "errors" not in body, body
    got = {(r["indicator"], r["period"], r["dimension"]): r for r in body["data"]["indicators"]}
    assert not [k for k in got if k[2] == "flagged_left_out"], "a flag would spoil the counts"
    return got


def targets(got: dict[tuple[str, str, str], Any]) -> dict[str, tuple[str, str, str, str | None]]:
    """Each target row as (achieved, target, expected, progress)."""
    return {d.removeprefix("target:"): (r["value"], r["target"], r["expected"], r["progress"])
            for (i, _, d), r in got.items() if i == "K7"}


def ratio(achieved: str, expected: str) -> str:
    return str((Decimal(achieved) / Decimal(expected)).quantize(Decimal("0.0001")))


# The path by 2022-06-30, by hand (docs/programmes.md): all of 2021's share and 181/365 of
# 2022's. SME patents (2000 at 30 %, 1 + 1.3 + 1.69 = 3.99): 501.2531 + 651.6291 * 181/365 =
# 824.39; university patents (no growth): 366.6667 + 366.6667 * 181/365 = 548.49; pledge
# amount (13 bn at 20 %, 3.64): 3,571,428,571.43 + 4,285,714,285.71 * 181/365 =
# 5,696,673,189.82; projects (1,100 at 20 %): 302.1978 + 362.6374 * 181/365 = 482.03.
MID_2022 = {"SME patents": "824.39", "university patents": "548.49",
            "pledge financing": "5696673189.82", "pledge projects": "482.03"}


def test_progress_counts_from_the_programme_start_in_the_province_and_a_city(
        client: TestClient, projectors: Projectors) -> None:
    scenario(client)
    # The query starts in 2022; progress still counts from 2021-03-01.
    province = targets(rows(client, projectors, **{"from": "2022-01-01", "to": "2022-06-30"},
                            programme=HENAN))
    # Henan, by hand: SMEs in Henan received P1 (T1), P2 (L2), P4 (U4), P7 (U7), P8 (U8): 5
    # (not P0, before the start; not P3, Nanjing). Universities gave P1, P2, P3, P4, P8: 5
    # (P8 by T8; its take-up U8 came from the company that bought it). Pledges: P1, P6, P5.
    achieved = {"SME patents": "5", "university patents": "5", "pledge financing": "26000000",
                "pledge projects": "3"}
    figures = {"SME patents": "2000", "university patents": "1100",
               "pledge financing": "13000000000", "pledge projects": "1100"}
    assert province == {name: (achieved[name], figures[name], MID_2022[name],
                               ratio(achieved[name], MID_2022[name])) for name in achieved}
    # Zhengzhou (410100, with its county 410102): SME1 received P1 and P7; the university is
    # in Zhengzhou (5 given); SME1 and BIG pledged there (5 m + 20 m), SME2 is in Luoyang.
    city = targets(rows(client, projectors, **{"from": "2022-01-01", "to": "2022-06-30"},
                        programme=HENAN, region="410100"))
    achieved = {"SME patents": "2", "university patents": "5", "pledge financing": "25000000",
                "pledge projects": "2"}
    assert city == {name: (achieved[name], figures[name], MID_2022[name],
                           ratio(achieved[name], MID_2022[name])) for name in achieved}
    # A county inside the city: only SME1's.
    county = targets(rows(client, projectors, **{"from": "2021-01-01", "to": "2022-06-30"},
                          programme="豫知〔2021〕30号", region="410102"))
    assert {n: v[0] for n, v in county.items()} == {
        "SME patents": "2", "university patents": "0", "pledge financing": "5000000",
        "pledge projects": "1"}


def test_after_the_programme_the_whole_figure_is_expected_and_later_deals_do_not_count(
        client: TestClient, projectors: Projectors) -> None:
    scenario(client)
    got = targets(rows(client, projectors, **{"from": "2024-01-01", "to": "2024-06-30"},
                       programme=HENAN))
    assert got["SME patents"][:3] == ("5", "2000", "2000.00")  # T9 (2024) is not counted
    assert got["pledge financing"] == ("26000000", "13000000000", "13000000000.00", "0.0020")
    # Before the programme's start nothing is expected, and no ratio is made up.
    early = targets(rows(client, projectors, **{"from": "2020-01-01", "to": "2021-02-28"},
                         programme=HENAN))
    assert early["SME patents"] == ("0", "2000", "0.00", None)


def test_a_target_applies_only_within_its_programmes_region(
        client: TestClient, projectors: Projectors) -> None:
    scenario(client)
    body = ask(client, projectors, **{"from": "2021-01-01", "to": "2022-12-31"},
               programme=HENAN, region="320000")
    [error] = body["errors"]
    assert error["extensions"]["argument"] == "region", error
    assert "lies outside the programme's region 410000" in error["message"]
    body = ask(client, projectors, **{"from": "2021-01-01", "to": "2022-12-31"},
               programme="Henan")
    assert body["errors"][0]["extensions"]["argument"] == "programme"
    # Without a programme, no row carries a target (there is none to apply).
    got = rows(client, projectors, **{"from": "2021-01-01", "to": "2022-12-31"},
               region="320000")
    assert not [k for k in got if k[0] == "K7"]
    assert all(r["target"] is None and r["expected"] is None for r in got.values())


def test_a_provinces_figures_include_its_prefectures_and_counties(
        client: TestClient, projectors: Projectors) -> None:
    scenario(client)
    y21 = "2021-01-01"
    period = {"from": "2021-01-01", "to": "2021-12-31"}

    def transfers(region: str) -> int | None:
        row = rows(client, projectors, **period, region=region).get(("K1", y21, "transfers"))
        return None if row is None else int(row["count"])

    # 2021's transfers: T1 (university 410100 to SME1 410102) and T3 (to Nanjing 320100).
    assert transfers("410000") == 2 and transfers("410100") == 2
    assert transfers("410102") == 1 and transfers("410300") is None
    assert transfers("320000") == 1 and transfers("320100") == 1
    # The pledges by region of either party: Luoyang has SME2's only.
    luoyang = rows(client, projectors, **period, region="410300")
    assert luoyang[("K6", y21, "registered")]["amount"] == "1000000"
    # With a programme and no region, the programme's region is asked.
    henan = rows(client, projectors, **period, programme=HENAN)
    assert henan[("K6", y21, "registered")]["amount"] == "6000000"
    # A mistyped code would match nothing: it is refused, naming the argument.
    body = ask(client, projectors, **period, region="400000")
    assert body["errors"][0]["extensions"]["argument"] == "region"


def test_open_licence_take_ups_count_as_licences(
        client: TestClient, projectors: Projectors) -> None:
    """U4 (an SME from a university), U7 (an SME from a company), U8 (an SME from the company
    that bought the patent from a university after its offer) are licences of kind "open"."""
    scenario(client)
    got = rows(client, projectors, **{"from": "2022-01-01", "to": "2022-12-31"})
    y22 = "2022-01-01"
    lump = got[("K2", y22, "open/lump_sum")]
    assert (lump["count"], lump["amount"]) == (2, "30000")  # U4 20,000 + U7 10,000
    assert got[("K2", y22, "open/free")]["count"] == 1
    assert got[("K9", y22, "taken")]["count"] == 3  # still counted as take-ups too
    assert got[("K4", y22, "micro")]["patents"] == 2  # SME2: P4 and P8
    assert got[("K4", y22, "small")]["patents"] == 1  # SME1: P7
    # Leaving a university: U4 only (T8 went to a large company, U8 came from it).
    assert got[("K5", y22, "enterprise")]["count"] == 2  # T8 and U4
    assert got[("K5", y22, "enterprise")]["patents"] == 2  # P8 and P4


def test_take_ups_count_alike_in_the_rollup_the_facts_and_a_rebuild(
        client: TestClient, projectors: Projectors, database_url: str) -> None:
    """A take-up's licensors come from the offer the projection kept: the live projections
    (a few events a batch), a rebuild (the whole log in one batch) and the rollup against the
    facts must agree, or a take-up's count would depend on where a batch happened to end."""
    from datetime import date

    from projections.audit import AuditProjection
    from projections.indicator_rollup import IndicatorProjection
    from projections.indicators import query_parameters, rows_from
    from projections.rebuild import rebuild

    scenario(client)
    service = client.app.state.service  # type: ignore[attr-defined]
    reads = client.app.state.reads  # type: ignore[attr-defined]
    wait_projected(projectors, service.store.head())
    parameters = query_parameters(date(2021, 1, 1), date(2022, 12, 31), "year", None, None,
                                  True, None)

    def both() -> list[Any]:
        raw = rows_from(client.portal.call(reads.indicator_rows, parameters, "facts"))  # type: ignore[union-attr]
        for source in (None, "rollup"):  # what readers get, and the rollup taking flags out
            assert rows_from(client.portal.call(reads.indicator_rows, parameters, source)) \
                == raw, source  # type: ignore[union-attr]
        return raw

    live = both()
    assert [r for r in live if r.indicator == "K2" and r.dimension.startswith("open/")]
    for projection in (AuditProjection(), IndicatorProjection()):
        rebuild(database_url, service.store, projection)
    # Readers are answered right at once (the query takes flagged deals out itself until the
    # settler has computed its adjustments afresh), and then from the adjustments.
    assert both() == live
    wait_settled(client)
    assert both() == live


def test_programmes_are_listed_with_their_targets_and_by_region(client: TestClient) -> None:
    query = """query($region: String) { programmes(region: $region) { id name authority region
      startsOn endsOn targets { name indicator measure regionParty cumulative figure growth } } }"""

    def listed(region: str | None) -> Any:
        return client.post("/graphql", headers=auth("platform"),
                           json={"query": query, "variables": {"region": region}}).json()

    [henan] = listed(None)["data"]["programmes"]
    assert (henan["authority"], henan["region"], henan["startsOn"], henan["endsOn"]) == (
        "河南省知识产权局 河南省财政厅", "410000", "2021-03-01", "2023-12-31")
    assert henan["targets"][2] == {
        "name": "pledge financing", "indicator": "K6", "measure": "amount",
        "regionParty": "pledgor", "cumulative": True, "figure": "13000000000", "growth": "0.2"}
    # A city's programmes include its province's; another province has none of Henan's.
    assert [p["id"] for p in listed("410102")["data"]["programmes"]] == [HENAN]
    assert listed("320100")["data"]["programmes"] == []
    assert listed("400000")["errors"][0]["extensions"]["argument"] == "region"
