"""The rules of domain.md section 5 on a plain `PatentState`: no database, no writer, no HTTP.

Each test gives a refusal (the rule's code and the facts a registrar would quote back) and,
beside it, the near miss the law allows. The REST tests (tests/test_invariants.py) hold the
same rules through the API; these hold the law itself, and run in milliseconds. No fixture
here asks for PostgreSQL (tests/conftest.py starts it only for tests that ask).

INV-13 (a late licence filing is accepted and flagged) and INV-16 (append-only) are not rules
of `ledger/law/rules.py`: the first is a flag set when a deal is prepared, the second the event
table's triggers. Their tests are the REST and store ones.
"""

from __future__ import annotations

from datetime import date

from ledger.law import rules
from ledger.law.patent_state import apply
from ledger.law.rules import check
from tests.plain_events import (
    BANK,
    EXPIRES,
    GRANTED,
    A,
    B,
    C,
    D,
    cny,
    default,
    disposal,
    equity,
    licence,
    open_declared,
    open_taken,
    open_withdrawn,
    patent,
    pledge,
    registered,
    release,
    status,
    termination,
    transfer,
)

DAY = date(2020, 1, 1)
LATER = date(2021, 1, 1)


def test_inv_1_a_registered_patent_is_not_registered_again() -> None:
    state = patent()
    refusal = check(state, registered({C: "1"}))
    assert refusal is not None and refusal.rule == "INV-1"
    assert refusal.facts == {"patent": state.number, "owners": [A]}
    # Owners change by a deal that moves title, and only by one.
    apply(state, licence("L1", DAY, [A], C))
    assert list(state.owners) == [A]
    assert check(state, transfer("T1", DAY, [A], C)) is None


def test_inv_2_every_co_owner_acts_together() -> None:
    state = patent(owners={A: "0.5", B: "0.5"})
    refusal = check(state, transfer("T1", DAY, [A, C], D))
    assert refusal is not None and refusal.rule == "INV-2"
    assert refusal.facts["missing_owners"] == [B] and refusal.facts["not_owners"] == [C]
    assert refusal.facts["owners"] == sorted([A, B])
    assert check(state, transfer("T1", DAY, [B, A], D)) is None  # in any order


def test_inv_3_a_co_owner_alone_grants_only_ordinary_licences() -> None:
    state = patent(owners={A: "0.5", B: "0.5"})
    refusal = check(state, licence("L1", DAY, [A], C, kind="exclusive"))
    assert refusal is not None and refusal.rule == "INV-3"
    assert refusal.facts["missing_owners"] == [B]
    assert check(state, licence("L1", DAY, [A], C, kind="ordinary")) is None
    assert check(state, licence("L1", DAY, [A, B], C, kind="exclusive")) is None
    # A licensor who owns nothing is refused as INV-2, whatever the kind.
    stranger = check(state, licence("L1", DAY, [C], D))
    assert stranger is not None and stranger.rule == "INV-2"
    assert stranger.facts["not_owners"] == [C]


def test_inv_4_no_deal_on_a_dead_patent_and_none_encumbering_while_frozen() -> None:
    # Issue 17 (domain.md s9): before its grant a patent is an application, which may be
    # licensed (and transferred) but not pledged; tests/test_law_plain.py holds the rest.
    before_grant = check(patent(), pledge("P1", date(2019, 5, 31), [A]))
    assert before_grant is not None and before_grant.rule == "INV-4"
    assert before_grant.facts["granted_on"] == GRANTED.isoformat()
    assert before_grant.facts["stage"] == "application"
    assert check(patent(), licence("L1", date(2019, 5, 31), [A], C)) is None
    assert check(patent(), pledge("P1", GRANTED, [A])) is None

    lapsed = check(patent(status(DAY, "lapsed")), transfer("T1", LATER, [A], C))
    assert lapsed is not None and lapsed.rule == "INV-4" and lapsed.facts["status"] == "lapsed"
    expired = check(patent(), transfer("T1", date(2037, 3, 1), [A], C))
    assert expired is not None and expired.facts["status"] == "expired"
    assert check(patent(), transfer("T1", EXPIRES, [A], C)) is None  # its last day

    grace = patent(status(DAY, "fee_grace"))
    frozen = check(grace, pledge("P1", LATER, [A]))
    assert frozen is not None and frozen.rule == "INV-4"
    assert frozen.facts["frozen_by"] == ["fee_grace"]
    assert check(grace, transfer("T1", LATER, [A], C)) is None  # grace stops encumbering only

    preserved = check(patent(status(DAY, "preserved")), transfer("T1", LATER, [A], C))
    assert preserved is not None and preserved.facts["frozen_by"] == ["preserved"]
    assert check(patent(status(DAY, "preserved"), status(DAY, "preservation_lifted")),
                 transfer("T1", LATER, [A], C)) is None


def test_inv_4_a_status_moves_only_as_the_register_allows() -> None:
    refusal = check(patent(), status(DAY, "restored"))
    assert refusal is not None and refusal.rule == "INV-4"
    assert refusal.facts == {"patent": patent().number, "status": "in_force",
                             "requested": "restored"}
    assert check(patent(status(DAY, "lapsed")), status(LATER, "restored")) is None
    revived = check(patent(status(DAY, "invalidated")), status(LATER, "restored"))
    assert revived is not None and revived.facts["status"] == "invalidated"
    lifted = check(patent(), status(DAY, "preservation_lifted"))
    assert lifted is not None and lifted.facts["preserved"] is False


def test_inv_5_nothing_runs_past_expiry_and_a_short_open_licence_is_not_refused() -> None:
    too_long = check(patent(), licence("L1", DAY, [A], C, ends_on=date(2037, 3, 1)))
    assert too_long is not None and too_long.rule == "INV-5"
    assert too_long.facts["expires_on"] == EXPIRES.isoformat()
    assert too_long.facts["ends_on"] == "2037-03-01"
    assert check(patent(), licence("L1", DAY, [A], C, ends_on=EXPIRES)) is None

    late_debt = check(patent(), pledge("P1", DAY, [A], due_on=date(2037, 3, 1)))
    assert late_debt is not None and late_debt.rule == "INV-5"
    assert late_debt.facts["due_on"] == "2037-03-01"
    assert check(patent(), pledge("P1", DAY, [A], due_on=EXPIRES)) is None

    # Issue 17 (domain.md s9): the one-year floor was a pilot rule; a shorter open licence is
    # accepted and flagged INV-5 when posted (tests/test_law_api.py), not refused.
    assert check(patent(), open_declared("O1", DAY, ends_on=date(2020, 12, 31))) is None
    assert rules.open_licence_short(DAY, date(2020, 12, 31))
    assert not rules.open_licence_short(DAY, date(2021, 1, 1))


def test_inv_6_one_exclusive_or_sole_licence_per_scope_and_term() -> None:
    exclusive = patent(licence("L1", DAY, [A], B, kind="exclusive", ends_on=date(2021, 12, 31)))
    refusal = check(exclusive, licence("L2", LATER, [A], C))
    assert refusal is not None and refusal.rule == "INV-6"
    assert refusal.facts == {"patent": exclusive.number, "overlapping_licence": "L1",
                             "overlapping_kind": "exclusive", "overlapping_licensee": B,
                             "overlapping_term": ["2020-01-01", "2021-12-31"]}
    assert check(exclusive, licence("L2", date(2022, 1, 1), [A], C)) is None  # after its term
    assert check(exclusive, licence("L2", LATER, [A], C, territory="HK")) is None  # elsewhere

    sole = patent(licence("L1", DAY, [A], B, kind="sole"))
    other = check(sole, licence("L2", LATER, [A], C))
    assert other is not None and other.rule == "INV-6"
    assert check(sole, licence("L2", LATER, [A], B)) is None  # the sole licensee itself
    assert check(patent(licence("L1", DAY, [A], B)), licence("L2", DAY, [A], C)) is None


def test_inv_7_no_exclusive_licence_beside_an_open_licence() -> None:
    declared = patent(open_declared("O1", DAY, ends_on=date(2022, 12, 31)))
    refusal = check(declared, licence("L1", LATER, [A], C, kind="exclusive"))
    assert refusal is not None and refusal.rule == "INV-7"
    assert refusal.facts == {"patent": declared.number, "open_licence": "O1"}
    assert check(declared, licence("L1", LATER, [A], C)) is None  # ordinary ones stack
    assert check(declared, open_taken("U1", LATER, C)) is None
    withdrawn = patent(open_declared("O1", DAY, ends_on=date(2022, 12, 31)),
                       open_withdrawn("W1", date(2020, 6, 1)))
    assert check(withdrawn, licence("L1", LATER, [A], C, kind="exclusive")) is None

    exclusive = patent(licence("L1", DAY, [A], B, kind="exclusive"))
    blocked = check(exclusive, open_declared("O1", LATER, ends_on=date(2022, 12, 31)))
    assert blocked is not None and blocked.rule == "INV-7"
    assert blocked.facts["licence"] == "L1" and blocked.facts["licence_kind"] == "exclusive"

    nothing_declared = check(patent(), open_taken("U1", LATER, C))
    assert nothing_declared is not None and nothing_declared.rule == "INV-7"
    assert nothing_declared.facts["effective_on"] == LATER.isoformat()


def test_inv_8_a_sub_licence_needs_the_right_and_stays_within_its_parent() -> None:
    closed = patent(licence("L1", DAY, [A], B, ends_on=date(2022, 12, 31)))
    refusal = check(closed, licence("S1", LATER, [B], C, ends_on=date(2022, 12, 31),
                                    parent="L1"))
    assert refusal is not None and refusal.rule == "INV-8"
    assert refusal.facts["parent_licence"] == "L1"
    assert refusal.facts["problems"] == ["the parent licence grants no right to sub-license"]

    open_ = patent(licence("L1", DAY, [A], B, ends_on=date(2022, 12, 31), sublicensable=True))
    assert check(open_, licence("S1", LATER, [B], C, ends_on=date(2022, 12, 31),
                                parent="L1")) is None
    beyond = check(open_, licence("S1", LATER, [B], C, ends_on=date(2023, 1, 1), parent="L1"))
    assert beyond is not None and beyond.rule == "INV-8"
    assert beyond.facts["problems"] == [
        "term 2021-01-01..2023-01-01 exceeds the parent's 2020-01-01..2022-12-31"]
    unknown = check(open_, licence("S1", LATER, [B], C, parent="L9"))
    assert unknown is not None and unknown.rule == "INV-8"


def test_inv_9_one_active_pledge_given_by_the_owners() -> None:
    pledged = patent(pledge("P1", DAY, [A]))
    refusal = check(pledged, pledge("P2", LATER, [A], pledgee=D))
    assert refusal is not None and refusal.rule == "INV-9"
    assert refusal.facts == {"patent": pledged.number, "blocking_pledge": "P1",
                             "pledgee": BANK, "pledge_status": "active"}
    released = patent(pledge("P1", DAY, [A]), release("R1", date(2020, 6, 1), "P1"))
    assert check(released, pledge("P2", LATER, [A], pledgee=D)) is None

    stranger = check(patent(), pledge("P1", DAY, [C]))
    assert stranger is not None and stranger.rule == "INV-9"
    assert stranger.facts["not_owners"] == [C]


def test_inv_10_a_pledged_patent_moves_only_with_the_pledgees_consent() -> None:
    pledged = patent(pledge("P1", DAY, [A]))
    refusal = check(pledged, transfer("T1", LATER, [A], C))
    assert refusal is not None and refusal.rule == "INV-10"
    assert refusal.facts == {"patent": pledged.number, "pledge": "P1", "pledgee": BANK}
    assert check(pledged, transfer("T1", LATER, [A], C, consent=True)) is None
    licensed = check(pledged, licence("L1", LATER, [A], C))
    assert licensed is not None and licensed.rule == "INV-10"
    assert check(pledged, licence("L1", LATER, [A], C, consent=True)) is None


def test_inv_11_only_a_pledge_in_default_is_disposed() -> None:
    pledged = patent(pledge("P1", DAY, [A]))
    refusal = check(pledged, disposal("X1", LATER, "P1", C))
    assert refusal is not None and refusal.rule == "INV-11"
    assert refusal.facts == {"patent": pledged.number, "pledge": "P1",
                             "pledge_status": "active"}
    unknown = check(pledged, disposal("X1", LATER, "P9", C))
    assert unknown is not None and unknown.rule == "INV-11" and unknown.facts["pledge"] == "P9"

    defaulted = patent(pledge("P1", DAY, [A]), default("F1", date(2020, 6, 1), "P1"))
    sale = disposal("X1", LATER, "P1", C)
    assert check(defaulted, sale) is None
    apply(defaulted, sale)
    assert list(defaulted.owners) == [C] and defaulted.pledges["P1"].status == "disposed"


def test_inv_12_a_pledge_ends_once() -> None:
    released = patent(pledge("P1", DAY, [A]), release("R1", date(2020, 6, 1), "P1"))
    refusal = check(released, release("R2", LATER, "P1"))
    assert refusal is not None and refusal.rule == "INV-12"
    assert refusal.facts == {"patent": released.number, "pledge": "P1",
                             "pledge_status": "released", "since": "2020-06-01"}
    assert check(patent(pledge("P1", DAY, [A])), release("R1", LATER, "P1")) is None

    defaulted = patent(pledge("P1", DAY, [A]), default("F1", date(2020, 6, 1), "P1"))
    twice = check(defaulted, default("F2", LATER, "P1"))
    assert twice is not None and twice.rule == "INV-12"
    assert twice.facts["pledge_status"] == "defaulted"
    assert check(defaulted, release("R1", LATER, "P1")) is None  # a paid-up default ends

    # The patent lapses: the collateral is lost with it, and the pledge says so.
    lost = patent(pledge("P1", DAY, [A]), status(date(2020, 6, 1), "lapsed"))
    assert lost.pledges["P1"].status == "collateral_lost"
    assert lost.pledges["P1"].ended_on == date(2020, 6, 1)
    gone = check(lost, release("R1", LATER, "P1"))
    assert gone is not None and gone.rule == "INV-12"
    assert gone.facts["pledge_status"] == "collateral_lost"


def test_inv_14_licences_survive_a_transfer_and_end_once() -> None:
    sold = patent(licence("L1", DAY, [A], B, kind="exclusive", ends_on=date(2022, 12, 31)),
                  transfer("T1", date(2020, 6, 1), [A], C))
    assert list(sold.owners) == [C] and sold.licences["L1"].licensee == B
    refusal = check(sold, licence("L2", LATER, [C], D, kind="exclusive"))
    assert refusal is not None and refusal.rule == "INV-14"
    assert refusal.facts["overlapping_licence"] == "L1"
    assert "survives the transfer" in refusal.detail
    assert check(sold, licence("L2", date(2023, 1, 1), [C], D, kind="exclusive")) is None

    ended = patent(licence("L1", DAY, [A], B, ends_on=date(2020, 12, 31)))
    over = check(ended, termination("E1", LATER, "L1"))
    assert over is not None and over.rule == "INV-14"
    assert over.facts == {"patent": ended.number, "licence": "L1", "ended_on": "2020-12-31"}
    assert check(ended, termination("E1", date(2020, 12, 31), "L1")) is None
    unknown = check(ended, termination("E1", LATER, "L9"))
    assert unknown is not None and unknown.rule == "INV-14" and unknown.facts["licence"] == "L9"


def test_inv_15_equity_and_debt_to_equity_carry_a_valuation() -> None:
    refusal = check(patent(), equity("Q1", DAY, [A], C, valuation=None))
    assert refusal is not None and refusal.rule == "INV-15"
    assert refusal.facts == {"patent": patent().number, "valuation": None}
    zero = check(patent(), equity("Q1", DAY, [A], C, valuation=cny("0")))
    assert zero is not None and zero.facts["valuation"] == {"amount": "0", "currency": "CNY"}
    assert check(patent(), equity("Q1", DAY, [A], C, valuation=cny("2000000"))) is None

    defaulted = patent(pledge("P1", DAY, [A]), default("F1", date(2020, 6, 1), "P1"))
    unvalued = check(defaulted, disposal("X1", LATER, "P1", BANK, mode="debt_to_equity"))
    assert unvalued is not None and unvalued.rule == "INV-15"
    assert check(defaulted, disposal("X1", LATER, "P1", BANK, mode="debt_to_equity",
                                     valuation=cny("900000"))) is None


def test_check_answers_the_first_rule_a_registrar_would_ask() -> None:
    """A lapsed patent sold by a stranger: the dead patent is the answer (INV-4 before INV-2)."""
    refusal = check(patent(status(DAY, "lapsed")), transfer("T1", LATER, [C], D))
    assert refusal is not None and refusal.rule == "INV-4"
    assert [rule.__name__ for rule in rules.RULES[type(transfer("T", DAY, [A], C))]] == [
        "inv_4_in_force", "inv_2_every_owner", "inv_10_pledgee_consent"]
