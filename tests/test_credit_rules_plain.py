"""Issue 17's credit rules on plain values, with no database: INV-18 (a subsidy's recoveries
return at most what was paid, in its currency), AR-13 (a subsidy to a party on a regulator's
list that day), and grades in which risk marks lower the grade but list nobody (domain.md s9).
The same rules are tested through the REST API in tests/test_subsidies.py and test_credit.py."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from ledger.law import events as ev
from ledger.law.subsidy_rules import inv_18_recovery_within_award
from ledger.law.values import Money
from projections.anomaly_config import rule_params
from projections.anomaly_facts import AnomalyFacts, ListingFacts
from projections.anomaly_rules import ar_13_subsidy_to_listed_party
from projections.credit import Listing, grade, listed_on
from tests.builders import uscc

PARTY = uscc(60)
RECORDED = datetime(2024, 1, 1, tzinfo=UTC)


def cny(amount: str, currency: str = "CNY") -> Money:
    return Money(Decimal(amount), currency)


def subsidy(awarded_on: date, amount: Money | None = None) -> ev.SubsidyAwarded:
    return ev.SubsidyAwarded(
        originator_id=ev.stream_id("subsidy", "S-1"), originator_version=1, timestamp=RECORDED,
        effective_on=awarded_on, posted_by="regulator:test", subsidy_id="S-1", party=PARTY,
        programme="conversion award", amount=amount or cny("100000"), deals=[], fingerprint="")


# --- INV-18 -----------------------------------------------------------------------------------


def test_inv_18_a_recovery_up_to_what_is_left_is_lawful() -> None:
    awarded = subsidy(date(2024, 5, 1))
    assert inv_18_recovery_within_award(awarded, None, cny("100000")) is None
    assert inv_18_recovery_within_award(awarded, cny("60000"), cny("40000")) is None


def test_inv_18_refuses_more_than_was_paid_less_earlier_recoveries() -> None:
    awarded = subsidy(date(2024, 5, 1))
    refusal = inv_18_recovery_within_award(awarded, None, cny("100000.01"))
    assert refusal is not None and refusal.rule == "INV-18"
    refusal = inv_18_recovery_within_award(awarded, cny("60000"), cny("40000.5"))
    assert refusal is not None and refusal.rule == "INV-18"
    assert refusal.facts["remaining"] == {"amount": "40000", "currency": "CNY"}
    assert refusal.facts["recovered_before"] == {"amount": "60000", "currency": "CNY"}


def test_inv_18_counts_a_recovery_in_the_awards_currency() -> None:
    refusal = inv_18_recovery_within_award(subsidy(date(2024, 5, 1)), None, cny("10", "USD"))
    assert refusal is not None and refusal.rule == "INV-18" and "CNY" in refusal.detail


# --- AR-13 ------------------------------------------------------------------------------------


def world_with(awarded_on: date, starts_on: date, ends_on: date | None,
               credit_list: str = "dishonest") -> AnomalyFacts:
    world = AnomalyFacts()
    world.subsidies["S-1"] = (20, subsidy(awarded_on))
    world.subsidies_of[PARTY].append("S-1")
    world.listings[PARTY].append((10, ListingFacts("L-1", credit_list, starts_on, ends_on)))
    return world


def ar_13(world: AnomalyFacts) -> list[tuple[str, tuple[int, ...]]]:
    found = ar_13_subsidy_to_listed_party(PARTY, world, rule_params()["AR-13"])
    return [(f.rule, f.evidence) for f in found]


def test_ar_13_flags_a_subsidy_awarded_during_a_listing() -> None:
    world = world_with(date(2024, 5, 1), date(2024, 3, 1), date(2026, 2, 28))
    assert ar_13(world) == [("AR-13", (10, 20))]
    on_the_first_day = world_with(date(2024, 3, 1), date(2024, 3, 1), None)
    assert ar_13(on_the_first_day) == [("AR-13", (10, 20))]


def test_ar_13_near_misses_a_listing_ended_before_or_started_after_the_award() -> None:
    assert ar_13(world_with(date(2024, 5, 1), date(2023, 3, 1), date(2024, 5, 1))) == []
    assert ar_13(world_with(date(2024, 5, 1), date(2024, 5, 2), None)) == []


# --- grades -----------------------------------------------------------------------------------


def listing(starts_on: date, ends_on: date | None, which: str = "dishonest") -> Listing:
    return Listing("L-1", PARTY, which, "unpaid judgment", starts_on, ends_on,
                   date(2025, 3, 1), False, (10,), ("no subsidy",))


def default_mark(starts_on: date) -> dict[str, object]:
    return {"rule": "INV-11", "grade": "C", "detail": "the loan secured by pledge P is in "
            "default", "starts_on": starts_on, "ends_on": None, "evidence": [7]}


def test_a_risk_mark_lowers_the_grade_and_lists_nobody() -> None:
    day = date(2024, 6, 1)
    graded = grade(PARTY, [], [default_mark(date(2024, 2, 1))], [], day)
    assert graded.grade == "C" and graded.reasons[0].rule == "INV-11"
    assert graded.reasons[0].evidence == (7,)
    assert listed_on([], day) == []


def test_a_regulators_listing_lists_while_in_force() -> None:
    dishonest, serious = listing(date(2024, 3, 1), date(2025, 3, 1)), \
        listing(date(2024, 3, 1), None, "serious_dishonesty")
    assert listed_on([dishonest], date(2024, 6, 1)) == [dishonest]
    assert listed_on([dishonest], date(2025, 3, 1)) == []
    assert grade(PARTY, [dishonest], [], [], date(2024, 6, 1)).grade == "C"
    assert grade(PARTY, [serious], [], [], date(2024, 6, 1)).grade == "D"
    assert grade(PARTY, [dishonest], [], [], date(2024, 2, 29)).grade == "A"
