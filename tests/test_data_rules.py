"""Data no registry would accept: each rule refused (422, nothing stored) and its lawful
neighbour accepted; the rule functions on plain values too (ledger/law/data_rules.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.law import data_rules
from ledger.law.identifiers import parse_patent_number
from tests.builders import (
    ACME,
    BETA,
    PATENT,
    assert_refused,
    cn_patent,
    event_count,
    party,
    transfer,
    uscc,
)

GAMMA = uscc(77)


# --- on plain values ------------------------------------------------------------------------


def test_receivers_equal_to_givers_are_refused_a_partial_overlap_is_not() -> None:
    with pytest.raises(ValueError, match="receivers are the givers"):
        data_rules.receivers_are_not_the_givers(["A"], ["A"])
    with pytest.raises(ValueError, match="receivers are the givers"):
        data_rules.receivers_are_not_the_givers(["A", "B"], ["B", "A"])
    data_rules.receivers_are_not_the_givers(["A"], ["A", "B"])  # a co-owner joins
    data_rules.receivers_are_not_the_givers(["A", "B"], ["A"])  # a co-owner leaves
    data_rules.receivers_are_not_the_givers(["A"], ["B"])


@pytest.mark.parametrize(("number", "year"), [
    ("201710601862.3", 2017),  # invention
    (cn_patent(2019, 2, 100001), 2019),  # utility model
    (cn_patent(2021, 3, 5), 2021),  # design
    ("95115608.X", 1995),  # the 8-digit numbers before 2003
    (cn_patent(2018, 8, 7), None),  # a PCT entry's number carries the year it entered China
    (cn_patent(2018, 9, 7), None),
    ("US9227360", None),
])
def test_the_year_a_number_carries(number: str, year: int | None) -> None:
    assert data_rules.number_year(parse_patent_number(number)) == year


def test_the_number_year_rule_on_plain_values() -> None:
    number = parse_patent_number("201710601862.3")
    data_rules.number_year_is_filing_year(number, date(2017, 7, 20))
    with pytest.raises(ValueError, match=r"number 201710601862\.3 was given in 2017"):
        data_rules.number_year_is_filing_year(number, date(2016, 12, 31))
    old = parse_patent_number("95115608.X")
    data_rules.number_year_is_filing_year(old, date(1995, 11, 2))
    with pytest.raises(ValueError, match="given in 1995"):
        data_rules.number_year_is_filing_year(old, date(1996, 1, 2))
    data_rules.number_year_is_filing_year(parse_patent_number(cn_patent(2018, 8, 7)),
                                          date(2016, 5, 1))
    data_rules.number_year_is_filing_year(parse_patent_number("US9227360"), date(2012, 1, 1))


def test_a_founding_date_after_today_on_plain_values() -> None:
    today = date(2024, 5, 1)
    data_rules.founded_by_today(today, today)
    with pytest.raises(ValueError, match="2024-05-02 is after today"):
        data_rules.founded_by_today(date(2024, 5, 2), today)


# --- through the API: refused, stored nothing; the lawful neighbour stored -------------------


def _ok(client: TestClient, path: str, body: dict[str, Any]) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text


def test_a_transfer_to_its_own_givers_is_refused(registered: TestClient) -> None:
    assert_refused(registered, "/v1/deals", transfer("T-1", [PATENT], [ACME], {ACME: "1"}),
                   "body.transfer.to_parties", message="receivers are the givers")
    _ok(registered, "/v1/deals", transfer("T-2", [PATENT], [ACME], {ACME: "0.5", BETA: "0.5"}))
    assert_refused(registered, "/v1/deals",
                   transfer("T-3", [PATENT], [ACME, BETA], {BETA: "0.3", ACME: "0.7"}),
                   "body.transfer.to_parties", message="receivers are the givers")


def test_an_equity_contribution_to_its_only_giver_is_refused(registered: TestClient) -> None:
    party(registered, GAMMA)

    def contribution(deal_id: str, givers: list[str], company: str) -> dict[str, Any]:
        return {"deal_id": deal_id, "kind": "equity_contribution", "effective_on": "2020-03-01",
                "patents": [PATENT], "from_parties": givers, "company": company,
                "valuation": {"amount": "1000000", "currency": "CNY"}}

    assert_refused(registered, "/v1/deals", contribution("E-1", [ACME], ACME),
                   "body.equity_contribution.company", message="receivers are the givers")
    _ok(registered, "/v1/deals", contribution("E-2", [ACME], GAMMA))


def test_a_number_whose_year_is_not_the_filing_year_is_refused(client: TestClient) -> None:
    party(client, ACME)

    def body(number: str, filed_on: str) -> dict[str, Any]:
        return {"number": number, "title": "Valve", "filed_on": filed_on,
                "granted_on": "2020-01-08", "owners": [{"party": ACME, "share": "1"}]}

    assert_refused(client, "/v1/patents", body(PATENT, "2016-12-30"), "body.filed_on",
                   message="carries its filing year")
    assert_refused(client, "/v1/patents", body(cn_patent(2019, 2, 9), "2018-03-01"),
                   "body.filed_on", message="given in 2019")
    _ok(client, "/v1/patents", body(PATENT, "2017-01-02"))
    _ok(client, "/v1/patents", body(cn_patent(2018, 8, 11), "2016-06-01"))  # PCT: may differ
    _ok(client, "/v1/patents", {**body("US9227360", "2012-03-01"), "kind": "invention"})


def test_a_party_founded_after_today_is_refused(client: TestClient) -> None:
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    assert_refused(client, "/v1/parties", {"id": ACME, "name": "Acme", "kind": "enterprise",
                                           "founded_on": tomorrow.isoformat()},
                   "body.founded_on", message="is after today")
    _ok(client, "/v1/parties", {"id": ACME, "name": "Acme", "kind": "enterprise",
                                "founded_on": today.isoformat()})


def test_blank_names_are_refused_everywhere_a_name_is(registered: TestClient) -> None:
    before = event_count(registered)
    blank = "\u200b\u3000"
    for path, body, field in [
        ("/v1/parties", {"id": GAMMA, "name": blank, "kind": "enterprise"}, "body.name"),
        ("/v1/patents", {"number": cn_patent(2017, 1, 77), "title": blank,
                         "filed_on": "2017-03-01", "granted_on": "2019-01-01",
                         "owners": [{"party": ACME, "share": "1"}]}, "body.title"),
        (f"/v1/patents/{PATENT}/inventors", {"inventors": [blank], "effective_on": "2021-01-01"},
         "body.inventors.0"),
    ]:
        assert_refused(registered, path, body, field, message="no visible character")
    assert event_count(registered) == before


def test_the_days_the_ledger_records_on_plain_values() -> None:
    from ledger.law.values import FIRST_DAY, LAST_DAY, outside_the_calendar

    assert outside_the_calendar(FIRST_DAY) is None and outside_the_calendar(LAST_DAY) is None
    assert "outside the days" in (outside_the_calendar(date(9999, 1, 2)) or "")
    assert "outside the days" in (outside_the_calendar(date(1, 1, 1)) or "")
