"""`patent { licences(inForce, first, after) licenceCount }`: a popular patent's licences in
pages, now (paged by PostgreSQL) and on a date (paged from the fold), alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.projectors import Projectors
from tests.builders import ACME, PATENT, licence, party, patent, uscc
from tests.ledger_fixtures import auth, wait_projected

LICENSEES = [uscc(600 + i) for i in range(5)]
LICENCES = 150  # more than a page of 100
QUERY = """query($n: String!, $asOf: Date, $inForce: Boolean, $first: Int, $after: String) {
  patent(number: $n, asOf: $asOf) {
    licenceCount all: licenceCount
    inForceCount: licenceCount(inForce: true) notInForceCount: licenceCount(inForce: false)
    licences(inForce: $inForce, first: $first, after: $after) {
      dealId inForce cursor terminatedOn endsOn licensee { id } } } }"""


def answer(client: TestClient, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": QUERY, "variables": {"n": PATENT,
                                                                           **variables}},
                           headers=auth("auditor"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return dict(body["data"]["patent"])


def errors(client: TestClient, arguments: str) -> list[dict[str, Any]]:
    query = f'{{ patent(number: "{PATENT}") {{ licences({arguments}) {{ dealId }} }} }}'
    response = client.post("/graphql", json={"query": query}, headers=auth("auditor"))
    body = response.json()
    assert body.get("errors"), body
    return list(body["errors"])


def deal_id(i: int) -> str:
    return f"L-{i:03d}"


def kind_of(i: int) -> str:
    """A third ran out in 2022, a third runs to 2030, a third runs to 2030 but was ended in
    2023."""
    return ("expired", "in force", "terminated")[i % 3]


def all_pages(client: TestClient, first: int | None, **variables: Any) -> list[str]:
    """Every licence, page after page by `after`; asserts each page but the last is full."""
    seen: list[str] = []
    after = None
    for _ in range(LICENCES + 1):
        page = answer(client, first=first, after=after, **variables)["licences"]
        seen.extend(lic["dealId"] for lic in page)
        if len(page) < (first or 100):
            return seen
        after = page[-1]["cursor"]
    raise AssertionError("the pages never ended")


@pytest.fixture
def popular(client: TestClient, projectors: Projectors) -> TestClient:
    """PATENT with 150 ordinary licences posted in order L-000 .. L-149 (start dates in
    descending order, so the list's order is not the start dates'), 50 of them terminated."""
    party(client, ACME)
    for p in LICENSEES:
        party(client, p)
    patent(client, PATENT, {ACME: "1"})
    deals = [licence(deal_id(i), [PATENT], [ACME], LICENSEES[i % len(LICENSEES)],
                     starts_on=f"2020-{12 - i % 12:02d}-01",
                     ends_on="2022-12-31" if kind_of(i) == "expired" else "2030-12-31")
             for i in range(LICENCES)]
    ends = [{"deal_id": f"E-{i:03d}", "kind": "licence_termination",
             "effective_on": "2023-06-01", "licence": deal_id(i)}
            for i in range(LICENCES) if kind_of(i) == "terminated"]
    for batch in (deals, ends):
        response = client.post("/v1/deals/batch", json={"deals": batch, "atomic": False})
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert all(r["status"] == 201 for r in results), results
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    return client


def test_pages_of_licences_follow_each_other_without_gap_or_overlap(
        popular: TestClient) -> None:
    first_page = answer(popular)  # no `first`: the contract's default of 100
    assert first_page["licenceCount"] == first_page["all"] == LICENCES
    assert [lic["dealId"] for lic in first_page["licences"]] == [deal_id(i) for i in range(100)]
    rest = answer(popular, after=first_page["licences"][-1]["cursor"])["licences"]
    assert [lic["dealId"] for lic in rest] == [deal_id(i) for i in range(100, LICENCES)]
    assert answer(popular, after=rest[-1]["cursor"])["licences"] == []
    # Smaller pages cover the same list, in the same order.
    assert all_pages(popular, 40) == [deal_id(i) for i in range(LICENCES)]


def test_in_force_lists_and_counts_those_in_force_on_the_answers_date(
        popular: TestClient) -> None:
    in_force = [deal_id(i) for i in range(LICENCES) if kind_of(i) == "in force"]
    not_in_force = [deal_id(i) for i in range(LICENCES) if kind_of(i) != "in force"]
    now = answer(popular, inForce=True)
    assert now["inForceCount"] == len(in_force) == 50
    assert now["notInForceCount"] == len(not_in_force) == 100
    assert now["licenceCount"] == LICENCES, "licenceCount without inForce counts every licence"
    assert [lic["dealId"] for lic in now["licences"]] == in_force
    assert all(lic["inForce"] for lic in now["licences"])
    assert all_pages(popular, 30, inForce=False) == not_in_force
    ended = answer(popular, inForce=False)["licences"]
    assert not any(lic["inForce"] for lic in ended)
    assert {lic["terminatedOn"] for lic in ended} == {None, "2023-06-01"}

    # In 2021 every licence had started and none had ended; in mid-2023 the terminations had.
    early = answer(popular, asOf="2021-06-30", inForce=True)
    assert (early["inForceCount"], early["notInForceCount"]) == (LICENCES, 0)
    assert all_pages(popular, 100, asOf="2021-06-30", inForce=True) == [
        deal_id(i) for i in range(LICENCES)]
    mid = answer(popular, asOf="2023-12-31", first=100, inForce=False)
    assert mid["inForceCount"] == 50 and mid["notInForceCount"] == 100
    assert [lic["dealId"] for lic in mid["licences"]] == not_in_force
    # Before 2020-12-01 only the licences that started by then were in force.
    before = answer(popular, asOf="2020-01-31")
    started = [deal_id(i) for i in range(LICENCES) if 12 - i % 12 == 1]
    assert before["inForceCount"] == len(started)
    assert [lic["dealId"] for lic in answer(popular, asOf="2020-01-31", inForce=True)[
        "licences"]] == started


@pytest.mark.parametrize("in_force", [None, True, False])
def test_the_register_now_and_the_fold_on_today_page_alike(popular: TestClient,
                                                            in_force: bool | None) -> None:
    """Now is paged by PostgreSQL, asOf by the fold in Python: the same pages, cursors and
    counts."""
    today = datetime.now(UTC).date().isoformat()
    for first in (100, 40):
        after = None
        while True:
            now = answer(popular, inForce=in_force, first=first, after=after)
            folded = answer(popular, inForce=in_force, first=first, after=after, asOf=today)
            assert now == folded
            if len(now["licences"]) < first:
                break
            after = now["licences"][-1]["cursor"]


@pytest.mark.parametrize(("arguments", "says"), [
    ("first: 0", "argument first: must be between 1 and 100, not 0"),
    ("first: -5", "argument first: must be between 1 and 100, not -5"),
    ("first: 101", "argument first: must be between 1 and 100, not 101"),
    ('after: "bogus"', "argument after: not a cursor of this list"),
    ('after: "MTI="', "argument after: not a cursor of this list"),  # "12": one part of two
])
def test_a_bad_page_argument_is_named_and_reads_go_on(popular: TestClient, arguments: str,
                                                      says: str) -> None:
    [error] = errors(popular, arguments)
    assert error["message"].startswith(says), error
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == arguments.split(":")[0]
    assert len(answer(popular, first=3)["licences"]) == 3, "the read side answers on"


def test_open_licence_take_ups_are_paged_too(client: TestClient,
                                              projectors: Projectors) -> None:
    party(client, ACME)
    for p in LICENSEES:
        party(client, p)
    patent(client, PATENT, {ACME: "1"})
    deals = [{"deal_id": "O-1", "kind": "open_licence_declaration", "effective_on": "2020-01-01",
              "patents": [PATENT], "owners": [ACME], "starts_on": "2020-01-01",
              "ends_on": "2022-12-31", "fee": {"mode": "royalty", "rate": "0.02"}},
             licence("L-1", [PATENT], [ACME], LICENSEES[0])]
    deals += [{"deal_id": f"U-{i}", "kind": "open_licence_take_up", "effective_on": "2020-03-01",
               "patents": [PATENT], "licensee": p} for i, p in enumerate(LICENSEES)]
    response = client.post("/v1/deals/batch", json={"deals": deals, "atomic": False})
    assert all(r["status"] == 201 for r in response.json()["results"]), response.text
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    query = """query($n: String!, $after: String) { patent(number: $n) { openLicence {
        takeUps(first: 3, after: $after) { dealId cursor } } } }"""

    def take_ups(after: str | None) -> list[dict[str, str]]:
        response = client.post("/graphql", json={"query": query,
                                                 "variables": {"n": PATENT, "after": after}},
                               headers=auth("auditor"))
        return list(response.json()["data"]["patent"]["openLicence"]["takeUps"])

    page = take_ups(None)
    rest = take_ups(page[-1]["cursor"])
    assert [u["dealId"] for u in page + rest] == [f"U-{i}" for i in range(len(LICENSEES))]
