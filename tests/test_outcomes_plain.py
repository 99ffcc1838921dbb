"""Issue 18 (outcomes) on a plain `PatentState`: INV-17 and INV-4 for a patent's use, no database.

Each rule has its refusal and the near case the law allows; the REST and GraphQL tests are
tests/test_outcomes_api.py, and docs/conversion.md explains each reading.
"""

from __future__ import annotations

from datetime import date

from ledger.law.outcomes import (
    industrialisation_category,
    inv_4_used_alive,
    inv_17_industrialised_by_licensee,
    inv_17_product_patent,
    licensed_on,
)
from tests.plain_events import EXPIRES, FILED, A, B, C, D, licence, patent, status, termination

DAY = date(2021, 5, 1)


def test_a_licensee_industrialises_only_under_a_licence_in_force_for_it() -> None:
    state = patent(licence("L1", date(2020, 1, 1), [A], C, ends_on=date(2022, 12, 31)))
    assert inv_17_industrialised_by_licensee(state, C, DAY, None) is None
    assert inv_17_industrialised_by_licensee(state, C, DAY, "L1") is None
    refusal = inv_17_industrialised_by_licensee(state, D, DAY, None)
    assert refusal is not None and refusal.rule == "INV-17"
    assert refusal.facts == {"patent": state.number, "on": "2021-05-01", "party": D,
                             "licences_in_force": []}


def test_a_licensee_names_a_licence_that_is_its_own() -> None:
    state = patent(licence("L1", date(2020, 1, 1), [A], C, ends_on=date(2022, 12, 31)),
                   licence("L2", date(2020, 1, 1), [A], D, ends_on=date(2022, 12, 31)))
    refusal = inv_17_industrialised_by_licensee(state, C, DAY, "L2")
    assert refusal is not None and refusal.rule == "INV-17"
    assert refusal.facts["deal"] == "L2" and refusal.facts["licences_in_force"] == ["L1"]


def test_a_terminated_licence_no_longer_carries_use() -> None:
    state = patent(licence("L1", date(2020, 1, 1), [A], C, ends_on=date(2022, 12, 31)),
                   termination("X1", date(2021, 1, 1), "L1"))
    assert licensed_on(state, C, date(2020, 12, 31)) == ["L1"]
    refusal = inv_17_industrialised_by_licensee(state, C, DAY, None)
    assert refusal is not None and refusal.rule == "INV-17"


def test_a_product_names_patents_its_owner_holds_or_is_licensed_under() -> None:
    state = patent(licence("L1", date(2020, 1, 1), [A, B], C, ends_on=date(2022, 12, 31)),
                   owners={A: "0.5", B: "0.5"})
    assert inv_17_product_patent(state, A, DAY) is None  # a co-owner holds it
    assert inv_17_product_patent(state, C, DAY) is None  # licensed
    assert inv_17_product_patent(state, C, date(2023, 1, 1)) is not None  # the licence ended
    refusal = inv_17_product_patent(state, D, DAY)
    assert refusal is not None and refusal.rule == "INV-17"
    assert refusal.facts["owner"] == D and refusal.facts["owners"] == sorted([A, B])


def test_use_of_a_dead_or_unfiled_patent_is_no_conversion() -> None:
    # The decision folds the patent to the day asked: before the lapse it is in force.
    assert inv_4_used_alive(patent(), date(2021, 2, 28)) is None
    state = patent(status(date(2021, 3, 1), "lapsed"))
    lapsed = inv_4_used_alive(state, date(2021, 3, 1))
    assert lapsed is not None and lapsed.rule == "INV-4" and lapsed.facts["status"] == "lapsed"
    early = inv_4_used_alive(patent(), date(FILED.year - 1, 1, 1))
    assert early is not None and early.rule == "INV-4" and "not yet filed" in early.detail
    expired = inv_4_used_alive(patent(), date(EXPIRES.year + 1, 1, 1))
    assert expired is not None and expired.facts["status"] == "expired"


def test_the_basis_names_the_category() -> None:
    assert industrialisation_category("licence") == "industrialised_by_licensee"
    assert industrialisation_category("service_contract") == "industrialised_by_partner"
    assert industrialisation_category("development_contract") == "industrialised_by_partner"
