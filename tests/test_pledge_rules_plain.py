"""The law of pledge finance (issue 19; domain.md s11; ledger/law/pledge_rules.py) on a plain
`PatentState`: no database, no writer, no HTTP.

Each test gives the refusal (the rule's code and the facts a registrar would quote back) and,
beside it, the near case the law allows, as tests/test_rules_plain.py does for section 5. The
REST tests are tests/test_pledge_finance.py.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from ledger.law.rules import check
from ledger.law.values import Money
from tests.plain_events import (
    EXPIRES,
    A,
    C,
    D,
    cny,
    default,
    disposal,
    licence,
    licensing_disposal,
    patent,
    pledge,
    pledge_change,
    release,
    risk_payment,
    status,
)

DAY = date(2020, 1, 1)  # the pledge
DEFAULTED = date(2021, 1, 1)
LATER = date(2021, 3, 1)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


# --- INV-5 and INV-12: pledge changes (s11.2) ------------------------------------------------


def test_inv_5_an_extension_keeps_the_debt_due_by_expiry() -> None:
    state = patent(pledge("P1", DAY, [A]))
    refusal = check(state, pledge_change("CH1", LATER, "P1",
                                         due_on=EXPIRES + timedelta(days=1)))
    assert refusal is not None and refusal.rule == "INV-5"
    assert refusal.facts == {"patent": state.number, "expires_on": EXPIRES.isoformat(),
                             "due_on": (EXPIRES + timedelta(days=1)).isoformat(),
                             "pledge": "P1"}
    # To the last day of the term, or a new amount alone, is lawful.
    assert check(state, pledge_change("CH1", LATER, "P1", due_on=EXPIRES)) is None
    assert check(state, pledge_change("CH1", LATER, "P1",
                                      secured_amount=cny("2000000"))) is None


def test_inv_12_no_change_of_a_pledge_that_ended() -> None:
    ended = {
        "released": patent(pledge("P1", DAY, [A]), release("R1", LATER, "P1")),
        "disposed": patent(pledge("P1", DAY, [A]), default("D1", DEFAULTED, "P1"),
                           disposal("X1", LATER, "P1", C)),
        "collateral_lost": patent(pledge("P1", DAY, [A]), status(LATER, "lapsed")),
    }
    later = date(2021, 6, 1)
    for how, state in ended.items():
        refusal = check(state, pledge_change("CH1", later, "P1", due_on=date(2023, 1, 1)))
        assert refusal is not None and refusal.rule == "INV-12", how
        assert refusal.facts["pledge_status"] == how and refusal.facts["since"] == "2021-03-01"
    # An active pledge, or one in default (its loan rescheduled), may be changed.
    assert check(patent(pledge("P1", DAY, [A])),
                 pledge_change("CH1", later, "P1", due_on=date(2023, 1, 1))) is None
    assert check(patent(pledge("P1", DAY, [A]), default("D1", DEFAULTED, "P1")),
                 pledge_change("CH1", later, "P1", due_on=date(2023, 1, 1))) is None
    unknown = check(patent(pledge("P1", DAY, [A])),
                    pledge_change("CH1", later, "P9", due_on=date(2023, 1, 1)))
    assert unknown is not None and unknown.rule == "INV-12" and unknown.facts["pledge"] == "P9"


# --- INV-11: risk-sharing payments (s11.3) ----------------------------------------------------


def test_inv_11_compensation_follows_a_default_but_pre_compensation_may_come_before() -> None:
    active = patent(pledge("P1", DAY, [A]))
    refusal = check(active, risk_payment("RE1", LATER, "P1", "insurance_payment"))
    assert refusal is not None and refusal.rule == "INV-11"
    assert refusal.facts == {"patent": active.number, "pledge": "P1",
                             "kind": "insurance_payment", "pledge_status": "active"}
    assert check(active, risk_payment("RE1", LATER, "P1", "pre_compensation")) is None
    defaulted = patent(pledge("P1", DAY, [A]), default("D1", DEFAULTED, "P1"))
    for kind in ("bad_debt_deposit", "guarantee_payment", "insurance_payment",
                 "agency_compensation", "pre_compensation"):
        assert check(defaulted, risk_payment("RE1", LATER, "P1", kind)) is None, kind


def test_inv_11_no_compensation_after_the_pledge_ended_or_for_another_pledge() -> None:
    disposed = patent(pledge("P1", DAY, [A]), default("D1", DEFAULTED, "P1"),
                      disposal("X1", LATER, "P1", C))
    refusal = check(disposed, risk_payment("RE1", date(2021, 6, 1), "P1", "pre_compensation"))
    assert refusal is not None and refusal.rule == "INV-11"
    assert refusal.facts["pledge_status"] == "disposed"
    # Judged as the pledge stood on the day it was paid: before the disposal, it counts.
    earlier = patent(pledge("P1", DAY, [A]), default("D1", DEFAULTED, "P1"))
    assert check(earlier, risk_payment("RE1", date(2021, 2, 1), "P1")) is None
    stranger = check(earlier, risk_payment("RE1", date(2021, 2, 1), "P9"))
    assert stranger is not None and stranger.rule == "INV-11"
    assert stranger.facts["pledge"] == "P9"


def test_inv_11_a_payment_comes_in_the_loans_currency() -> None:
    active = patent(pledge("P1", DAY, [A]))  # secures 1,000,000 CNY
    refusal = check(active, risk_payment("RE1", LATER, "P1", "pre_compensation", usd("1000")))
    assert refusal is not None and refusal.rule == "INV-11"
    assert refusal.facts == {"patent": active.number, "pledge": "P1",
                             "kind": "pre_compensation", "currency": "USD",
                             "loan_currency": "CNY"}
    assert check(active, risk_payment("RE1", LATER, "P1", "pre_compensation",
                                      cny("1000"))) is None
    # Once in default, the claim is the outstanding debt, in the default's currency.
    defaulted = patent(pledge("P1", DAY, [A]), default("D1", DEFAULTED, "P1"))
    after = check(defaulted, risk_payment("RE1", LATER, "P1", amount=usd("5")))
    assert after is not None and after.rule == "INV-11" and after.facts["loan_currency"] == "CNY"
    assert check(defaulted, risk_payment("RE1", LATER, "P1", amount=cny("5"))) is None


# --- INV-5, INV-11 and INV-6: a disposal's licence (s11.3) -------------------------------------



def test_inv_5_a_disposals_licence_ends_by_expiry() -> None:
    state = patent(pledge("P1", DAY, [A]), default("D1", DEFAULTED, "P1"))
    refusal = check(state, licensing_disposal("X1", LATER, "P1", C,
                                              ends_on=EXPIRES + timedelta(days=1)))
    assert refusal is not None and refusal.rule == "INV-5"
    assert refusal.facts["ends_on"] == (EXPIRES + timedelta(days=1)).isoformat()
    assert check(state, licensing_disposal("X1", LATER, "P1", C, ends_on=EXPIRES)) is None


def test_inv_11_an_acquisition_with_licence_back_licenses_the_pledgor() -> None:
    state = patent(pledge("P1", DAY, [A]), default("D1", DEFAULTED, "P1"))
    back = "acquisition_with_licence_back"
    refusal = check(state, licensing_disposal("X1", LATER, "P1", D, mode=back, buyer=C))
    assert refusal is not None and refusal.rule == "INV-11"
    assert refusal.facts == {"patent": state.number, "pledge": "P1", "pledgors": [A],
                             "licensee": D}
    assert check(state, licensing_disposal("X1", LATER, "P1", A, mode=back, buyer=C)) is None


def test_inv_6_a_disposals_licence_meets_the_licences_already_granted() -> None:
    # An exclusive licence to C from 2019-06-01 to 2021-06-01, granted before the pledge.
    state = patent(licence("L1", date(2019, 6, 1), [A], C, kind="exclusive"),
                   pledge("P1", DAY, [A]), default("D1", DEFAULTED, "P1"))
    refusal = check(state, licensing_disposal("X1", LATER, "P1", D))
    assert refusal is not None and refusal.rule == "INV-6"
    assert refusal.facts == {"patent": state.number, "overlapping_licence": "L1",
                             "overlapping_kind": "exclusive", "overlapping_licensee": C,
                             "overlapping_term": ["2019-06-01", "2021-06-01"]}
    # From the day after the exclusive licence ends, the disposal's licence is lawful.
    assert check(state, licensing_disposal("X1", LATER, "P1", D,
                                           starts_on=date(2021, 6, 2))) is None


def test_inv_6_an_exclusive_disposal_licence_excludes_ordinary_ones_which_stack() -> None:
    state = patent(licence("L1", date(2019, 6, 1), [A], C), pledge("P1", DAY, [A]),
                   default("D1", DEFAULTED, "P1"))
    refusal = check(state, licensing_disposal("X1", LATER, "P1", D, kind="exclusive"))
    assert refusal is not None and refusal.rule == "INV-6"
    assert refusal.facts["overlapping_licence"] == "L1"
    # Ordinary licences stack; a sole licence to the same licensee sits beside its own.
    assert check(state, licensing_disposal("X1", LATER, "P1", D)) is None
    assert check(state, licensing_disposal("X1", LATER, "P1", C, kind="sole")) is None
