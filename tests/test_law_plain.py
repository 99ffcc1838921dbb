"""The law as amended by domain.md s9 (issue 17) on a plain `PatentState`: no database.

Each test gives the refusal (the rule's code and the facts) and the near case the law allows,
as tests/test_rules_plain.py does for section 5. docs/law.md explains each reading; the REST
tests are tests/test_law_api.py.
"""

from __future__ import annotations

from datetime import date, timedelta

from ledger.law import rules
from ledger.law.patent_state import apply
from ledger.law.rules import check
from ledger.law.values import expiry_date
from tests.plain_events import (
    EXPIRES,
    FILED,
    A,
    C,
    equity,
    extension,
    licence,
    open_declared,
    patent,
    pledge,
    registered,
    status,
    transfer,
)

DAY = date(2020, 1, 1)
APPLICATION = registered(granted_on=None)  # filed 2017-03-01, not granted


# --- item 3: applications ------------------------------------------------------------------


def test_an_application_is_pending_until_its_grant() -> None:
    state = patent(start=APPLICATION)
    assert state.status == "pending" and state.granted_on is None
    assert state.application_on(DAY)
    apply(state, status(date(2021, 7, 1), "granted"))
    assert state.status == "in_force" and state.granted_on == date(2021, 7, 1)
    assert state.application_on(date(2021, 6, 30)) and not state.application_on(date(2021, 7, 1))


def test_the_application_right_is_transferred_contributed_and_licensed() -> None:
    state = patent(start=APPLICATION)
    assert check(state, transfer("T1", DAY, [A], C)) is None
    assert check(state, equity("E1", DAY, [A], C, None)) is not None  # INV-15 still holds
    assert check(state, licence("L1", DAY, [A], C)) is None


def test_an_application_is_not_pledged_nor_openly_licensed() -> None:
    state = patent(start=APPLICATION)
    refusal = check(state, pledge("P1", DAY, [A]))
    assert refusal is not None and refusal.rule == "INV-4"
    assert refusal.facts["stage"] == "application" and refusal.facts["status"] == "pending"
    assert "application" in refusal.detail
    declared = check(state, open_declared("O1", DAY, ends_on=date(2022, 1, 1)))
    assert declared is not None and declared.rule == "INV-4"
    assert declared.facts["stage"] == "application"
    granted = patent(status(date(2019, 12, 1), "granted"), start=APPLICATION)
    assert check(granted, pledge("P1", DAY, [A])) is None
    assert check(granted, open_declared("O1", DAY, ends_on=date(2022, 1, 1))) is None


def test_a_grant_is_recorded_once_and_not_before_filing() -> None:
    twice = check(patent(), status(DAY, "granted"))
    assert twice is not None and twice.rule == "INV-4"
    assert twice.facts["granted_on"] == "2019-06-01"
    early = check(patent(start=APPLICATION), status(FILED - timedelta(days=1), "granted"))
    assert early is not None and early.rule == "INV-4"
    assert early.facts["filed_on"] == FILED.isoformat()
    assert check(patent(start=APPLICATION), status(FILED, "granted")) is None


def test_an_application_has_no_status_of_a_granted_patent_but_may_be_preserved() -> None:
    lapsed = check(patent(start=APPLICATION), status(DAY, "lapsed"))
    assert lapsed is not None and lapsed.rule == "INV-4" and lapsed.facts["status"] == "pending"
    # Court preservation binds an application right too (Implementing Regulations r. 103).
    assert check(patent(start=APPLICATION), status(DAY, "preserved")) is None
    preserved = patent(status(DAY, "preserved"), start=APPLICATION)
    frozen = check(preserved, transfer("T1", DAY, [A], C))
    assert frozen is not None and frozen.facts["frozen_by"] == ["preserved"]


def test_no_deal_before_the_application_was_filed() -> None:
    refusal = check(patent(start=APPLICATION), transfer("T1", date(2017, 2, 28), [A], C))
    assert refusal is not None and refusal.rule == "INV-4"
    assert refusal.facts["filed_on"] == FILED.isoformat()
    assert check(patent(start=APPLICATION), transfer("T1", FILED, [A], C)) is None


# --- item 5: term compensation -------------------------------------------------------------

LATE_GRANT = registered(granted_on=date(2022, 3, 1))  # filed 2017-03-01: 365 days' delay


def test_a_term_extension_moves_the_expiry_and_inv_5_follows_it() -> None:
    state = patent(start=LATE_GRANT)
    beyond = EXPIRES + timedelta(days=100)
    too_long = check(state, licence("L1", date(2022, 6, 1), [A], C, ends_on=beyond))
    assert too_long is not None and too_long.rule == "INV-5"
    apply(state, extension(date(2022, 5, 1), 100))
    assert state.expires_on == beyond and state.extensions == {"grant_delay": 100}
    assert check(state, licence("L1", date(2022, 6, 1), [A], C, ends_on=beyond)) is None
    past = check(state, licence("L1", date(2022, 6, 1), [A], C,
                                ends_on=beyond + timedelta(days=1)))
    assert past is not None and past.facts["expires_on"] == beyond.isoformat()
    assert state.status_on(beyond) == "in_force" and state.status_on(
        beyond + timedelta(days=1)) == "expired"


def test_a_grant_delay_is_compensated_at_most_for_the_delay_after_four_years() -> None:
    state = patent(start=LATE_GRANT)
    refusal = check(state, extension(date(2022, 5, 1), 366))
    assert refusal is not None and refusal.rule == "INV-5"
    assert refusal.facts["days"] == 366 and "365 days" in refusal.detail
    assert check(state, extension(date(2022, 5, 1), 365)) is None
    twice = patent(extension(date(2022, 5, 1), 10), start=LATE_GRANT)
    again = check(twice, extension(date(2022, 6, 1), 10, extension_id="E2"))
    assert again is not None and again.rule == "INV-5" and "already" in again.detail


def test_no_compensation_for_a_grant_before_2021_06_01_or_a_utility_model() -> None:
    before = patent(start=registered(granted_on=date(2021, 5, 31)))
    refusal = check(before, extension(date(2021, 7, 1), 10))
    assert refusal is not None and refusal.rule == "INV-5"
    assert refusal.facts["granted_on"] == "2021-05-31"
    assert check(patent(start=registered(granted_on=date(2021, 6, 1))),
                 extension(date(2021, 7, 1), 10)) is None
    utility = patent(start=registered(granted_on=date(2022, 3, 1), kind="utility_model"))
    refused = check(utility, extension(date(2022, 5, 1), 10))
    assert refused is not None and refused.rule == "INV-5" and refused.facts["kind"] == (
        "utility_model")
    application = check(patent(start=APPLICATION), extension(date(2022, 5, 1), 10))
    assert application is not None and application.rule == "INV-5"


def test_a_drug_review_compensation_is_at_most_five_years() -> None:
    state = patent(start=LATE_GRANT)
    five_years = (date(2042, 2, 28) - EXPIRES).days
    refusal = check(state, extension(date(2022, 5, 1), five_years + 1, basis="drug_review"))
    assert refusal is not None and refusal.rule == "INV-5"
    assert check(state, extension(date(2022, 5, 1), five_years, basis="drug_review")) is None


def test_no_compensation_of_a_dead_patent() -> None:
    state = patent(status(date(2022, 4, 1), "lapsed"), start=LATE_GRANT)
    refusal = check(state, extension(date(2022, 5, 1), 10))
    assert refusal is not None and refusal.rule == "INV-4" and refusal.facts["status"] == "lapsed"


# --- item 6: short open licences; evaluation reports ------------------------------------------


def test_a_short_open_licence_is_lawful_and_flagged() -> None:
    assert check(patent(), open_declared("O1", DAY, ends_on=date(2020, 6, 30))) is None
    assert rules.open_licence_short(DAY, date(2020, 12, 31))
    assert not rules.open_licence_short(DAY, date(2021, 1, 1))


def test_a_utility_model_declaration_names_its_evaluation_report() -> None:
    utility = patent(start=registered(kind="utility_model"))
    assert utility.expires_on == expiry_date("utility_model", FILED)
    refusal = check(utility, open_declared("O1", DAY, ends_on=date(2021, 6, 1)))
    assert refusal is not None and refusal.rule == "INV-7"
    assert refusal.facts == {"patent": utility.number, "kind": "utility_model",
                             "evaluation_report": None}
    assert check(utility, open_declared("O1", DAY, ends_on=date(2021, 6, 1),
                                        evaluation_report="PJ-2019-0001")) is None
    design = patent(start=registered(kind="design"))
    assert check(design, open_declared("O1", DAY, ends_on=date(2021, 6, 1))) is not None
    # An invention needs none: its grant followed a substantive examination.
    assert check(patent(), open_declared("O1", DAY, ends_on=date(2021, 6, 1))) is None


# --- item 7: invalidation pending ----------------------------------------------------------


def test_no_pledge_while_invalidation_is_pending_unless_acknowledged() -> None:
    pending = patent(status(DAY, "invalidation_requested"))
    assert pending.invalidation_pending
    refusal = check(pending, pledge("P1", date(2020, 2, 1), [A]))
    assert refusal is not None and refusal.rule == "INV-4"
    assert refusal.facts["invalidation_pending"] is True
    assert check(pending, pledge("P1", date(2020, 2, 1), [A], acknowledged=True)) is None
    # Other deals go on: the patent stands until it is decided.
    assert check(pending, transfer("T1", date(2020, 2, 1), [A], C)) is None
    assert check(pending, licence("L1", date(2020, 2, 1), [A], C)) is None


def test_an_invalidation_decision_ends_the_pending_state() -> None:
    upheld = patent(status(DAY, "invalidation_requested"),
                    status(date(2020, 6, 1), "invalidation_decided", "upheld"))
    assert not upheld.invalidation_pending and upheld.status == "in_force"
    assert check(upheld, pledge("P1", date(2020, 7, 1), [A])) is None
    partly = patent(status(DAY, "invalidation_requested"),
                    status(date(2020, 6, 1), "invalidation_decided", "partially_invalidated"))
    assert partly.status == "in_force"
    gone = patent(pledge("P1", date(2019, 7, 1), [A]),
                  status(DAY, "invalidation_requested"),
                  status(date(2020, 6, 1), "invalidation_decided", "invalidated"))
    assert gone.status == "invalidated"
    assert gone.pledges["P1"].status == "collateral_lost"  # INV-12
    dead = check(gone, transfer("T1", date(2020, 7, 1), [A], C))
    assert dead is not None and dead.facts["status"] == "invalidated"


def test_an_invalidation_is_requested_once_and_decided_only_when_pending() -> None:
    undecided = check(patent(), status(DAY, "invalidation_decided", "upheld"))
    assert undecided is not None and undecided.rule == "INV-4"
    assert undecided.facts["invalidation_pending"] is False
    twice = check(patent(status(DAY, "invalidation_requested")),
                  status(date(2020, 2, 1), "invalidation_requested"))
    assert twice is not None and twice.facts["invalidation_pending"] is True
    assert check(patent(), status(DAY, "invalidation_requested")) is None
