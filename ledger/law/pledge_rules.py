"""The law of pledge finance the ledger enforces at append (issue 19; domain.md s11).

One small function per rule, its code and legal source in the first line of its docstring,
reading the patent's state just before the event (on its effective date), like
`ledger/law/rules.py`, whose `RULES` lists them for their event kinds:

- a pledge change (extension of the due date, new secured amount) needs a pledge that has not
  ended (INV-12) and keeps the debt due before expiry (INV-5);
- a risk-sharing payment needs a defaulted pledge, except a pre-compensation (前补偿), which may
  come while the loan runs, and is paid in the loan's currency, the one its claim is counted
  in (INV-11);
- a disposal's licence (licence to a third party, or back to the pledgor after an acquisition,
  收购许可) ends before expiry (INV-5), names the pledgor when it is a licence-back (INV-11)
  and leaves no two exclusive or sole licences over one scope (INV-6), as any licence.
"""

from __future__ import annotations

from typing import Any

from ledger.law import events as ev
from ledger.law.exclusivity import Grant, exclusivity_refusal
from ledger.law.patent_state import DISPOSAL_LICENCE_SCOPE, PatentState
from ledger.law.refusal import Refusal

# Statuses of a pledge a risk-sharing payment may find, by its kind (domain.md s11.3).
PAYABLE_WHILE = {"pre_compensation": frozenset({"active", "defaulted"})}
DEFAULTED_ONLY = frozenset({"defaulted"})


def inv_5_changed_due_date(state: PatentState, event: ev.PledgeChanged) -> Refusal | None:
    """INV-5 an extended debt still falls due by the (compensated) expiry (Art. 42; 2021 measures art. 9)."""
    if event.due_on is None or event.due_on <= state.expires_on:
        return None
    return Refusal(
        "INV-5",
        f"the secured debt would fall due {event.due_on}, after patent {state.number} expires "
        f"on {state.expires_on}",
        {"patent": state.number, "expires_on": state.expires_on.isoformat(),
         "due_on": event.due_on.isoformat(), "pledge": event.pledge},
    )


def inv_11_risk_payment(state: PatentState, event: ev.RiskPaymentMade) -> Refusal | None:
    """INV-11 compensation follows a default; only pre-compensation comes before (Civil Code Art. 700; s11.3)."""
    pledge = state.pledges.get(event.pledge)
    facts: dict[str, Any] = {"patent": state.number, "pledge": event.pledge,
                             "kind": event.risk_kind}
    if pledge is None:
        return Refusal("INV-11", f"pledge {event.pledge} does not cover patent {state.number} "
                       f"on {event.effective_on}", facts)
    allowed = PAYABLE_WHILE.get(event.risk_kind, DEFAULTED_ONLY)
    if pledge.status in allowed:
        return None
    needs = "an active or defaulted" if "active" in allowed else "a defaulted"
    return Refusal(
        "INV-11",
        f"a {event.risk_kind.replace('_', ' ')} needs {needs} pledge: pledge {event.pledge} "
        f"is {pledge.status} on {event.effective_on}",
        {**facts, "pledge_status": pledge.status},
    )


def inv_11_risk_currency(state: PatentState, event: ev.RiskPaymentMade) -> Refusal | None:
    """INV-11 compensation counts against the claim, so it comes in the loan's currency (Art. 436)."""
    pledge = state.pledges.get(event.pledge)
    loan = None if pledge is None else (pledge.outstanding or pledge.secured_amount)
    if loan is None or loan.currency == event.amount.currency:
        return None  # an undisclosed loan (a foreign record) has no currency to keep to
    return Refusal(
        "INV-11",
        f"a {event.risk_kind.replace('_', ' ')} in {event.amount.currency} towards pledge "
        f"{event.pledge}, whose loan is in {loan.currency}: the disposal counts what it "
        f"covers against the claim in {loan.currency}, so pay it in {loan.currency}",
        {"patent": state.number, "pledge": event.pledge, "kind": event.risk_kind,
         "currency": event.amount.currency, "loan_currency": loan.currency},
    )


def inv_5_disposal_licence(state: PatentState, event: ev.PledgeDisposed) -> Refusal | None:
    """INV-5 a licence granted by a disposal ends by expiry (Patent Law Art. 42, 12)."""
    ends_on = event.licence_ends_on
    if ends_on is None or ends_on <= state.expires_on:
        return None
    return Refusal(
        "INV-5",
        f"the disposal's licence would end {ends_on}, after patent {state.number} expires on "
        f"{state.expires_on}",
        {"patent": state.number, "expires_on": state.expires_on.isoformat(),
         "ends_on": ends_on.isoformat()},
    )


def inv_11_licence_back(state: PatentState, event: ev.PledgeDisposed) -> Refusal | None:
    """INV-11 an acquisition with licence back licenses the pledgor, not a stranger (收购许可, Jiyuan)."""
    if event.mode != "acquisition_with_licence_back":
        return None
    pledge = state.pledges.get(event.pledge)
    pledgors = pledge.pledgors if pledge is not None else ()
    if event.licensee in pledgors:
        return None
    return Refusal(
        "INV-11",
        f"an acquisition with licence back licenses the patent back to the pledgor "
        f"({', '.join(pledgors)}), not to {event.licensee}",
        {"patent": state.number, "pledge": event.pledge, "pledgors": list(pledgors),
         "licensee": event.licensee},
    )


def inv_6_disposal_licence(state: PatentState, event: ev.PledgeDisposed) -> Refusal | None:
    """INV-6 a disposal's licence is a licence: one exclusive or sole per scope (SPC Interp. 2009 Art. 25)."""
    if event.licensee is None or event.licence_kind is None or event.licence_starts_on is None \
            or event.licence_ends_on is None:
        return None
    territory, field = DISPOSAL_LICENCE_SCOPE  # the scope it takes on the register
    grant = Grant(event.licence_kind, event.licensee, territory, field,
                  event.licence_starts_on, event.licence_ends_on)
    return exclusivity_refusal(state, grant)
