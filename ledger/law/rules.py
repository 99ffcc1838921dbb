"""The law the ledger enforces at append: invariants INV-1 to INV-16 of domain.md section 5,
as amended by its section 9 (issue 17; docs/law.md explains each reading).

One small function per rule, its code and legal source in the first line of its docstring. A
rule reads the patent's state just before the event (on the event's effective date) and
returns a `Refusal` naming the rule and the facts that broke it, or None. `check` runs the
rules that concern an event kind, in the order a registrar would ask them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from ledger.law import events as ev
from ledger.law.exclusivity import Grant, exclusivity_refusal
from ledger.law.patent_state import PatentState
from ledger.law.pledge_rules import (
    inv_5_changed_due_date,
    inv_5_disposal_licence,
    inv_6_disposal_licence,
    inv_11_licence_back,
    inv_11_risk_currency,
    inv_11_risk_payment,
)
from ledger.law.pool_rules import (  # issue 18 (pools)
    inv_2_pool_entry_once,
    inv_2_pool_exit_member,
    inv_2_pool_licence,
    inv_6_outside_pool,
    inv_6_pool_entry,
)
from ledger.law.refusal import Refusal, Rule
from ledger.law.status_rules import inv_4_in_force, inv_4_status_change, inv_5_term_extension
from ledger.law.values import add_years

__all__ = ["RULES", "Refusal", "Rule", "check", "open_licence_short"]


def _missing_and_extra(expected: Sequence[str], given: Sequence[str]) -> dict[str, list[str]]:
    return {
        "missing_owners": sorted(set(expected) - set(given)),
        "not_owners": sorted(set(given) - set(expected)),
    }


def inv_1_registered_once(state: PatentState, event: ev.PatentRegistered) -> Refusal | None:
    """INV-1 ownership changes only by transfer, equity contribution or disposal (Art. 10)."""
    return Refusal(
        "INV-1",
        f"patent {state.number} is already registered; owners change only by a transfer, "
        "an equity contribution or a disposal",
        {"patent": state.number, "owners": sorted(state.owners)},
    )


def inv_2_every_owner(state: PatentState, event: Any) -> Refusal | None:
    """INV-2 the transferor set is the full owner set; co-owners act together (Art. 10, 14)."""
    given = _acting_parties(event)
    if set(given) == set(state.owners):
        return None
    return Refusal(
        "INV-2",
        f"patent {state.number}: {event.TOPIC} needs every registered owner",
        {"patent": state.number, "owners": sorted(state.owners), **_missing_and_extra(
            list(state.owners), given
        )},
    )


def _acting_parties(event: Any) -> list[str]:
    for name in ("from_parties", "licensors", "owners", "pledgors"):
        if hasattr(event, name):
            return list(getattr(event, name))
    raise AssertionError(f"{type(event).__name__} names no acting parties")


def inv_3_co_owner_licence(state: PatentState, event: ev.LicenceGranted) -> Refusal | None:
    """INV-3 a single co-owner alone may grant only ordinary licences (Patent Law Art. 14)."""
    if event.parent_licence is not None:
        return None  # a sub-licence is granted by the licensee: INV-8
    if event.pool is not None:
        return None  # a pool licence is granted by the pool's administrator: INV-2 (pools)
    licensors = set(event.licensors)
    not_owners = sorted(licensors - set(state.owners))
    if not_owners:
        return Refusal(
            "INV-2",
            f"patent {state.number}: licensors must be registered owners",
            {"patent": state.number, "owners": sorted(state.owners), "not_owners": not_owners},
        )
    if licensors == set(state.owners):
        return None
    missing = sorted(set(state.owners) - licensors)
    if event.licence_kind == "ordinary":
        return None
    return Refusal(
        "INV-3",
        f"patent {state.number}: a co-owner alone may grant only an ordinary licence, "
        f"not a {event.licence_kind} one",
        {"patent": state.number, "owners": sorted(state.owners), "missing_owners": missing},
    )


def inv_5_within_term(state: PatentState, event: Any) -> Refusal | None:
    """INV-5 licences and pledged debts end by the (compensated) expiry (Art. 42; s9)."""

    def facts() -> dict[str, Any]:  # made only for a refusal: this rule runs on most deals
        return {"patent": state.number, "expires_on": state.expires_on.isoformat()}

    if isinstance(event, ev.LicenceGranted | ev.OpenLicenceDeclared) \
            and event.ends_on > state.expires_on:
        return Refusal(
            "INV-5",
            f"licence would end {event.ends_on}, after patent {state.number} expires "
            f"on {state.expires_on}",
            {**facts(), "ends_on": event.ends_on.isoformat()},
        )
    if isinstance(event, ev.PledgeRegistered) and event.due_on is not None \
            and event.due_on > state.expires_on:
        return Refusal(
            "INV-5",
            f"the secured debt falls due {event.due_on}, after patent {state.number} expires "
            f"on {state.expires_on}",
            {**facts(), "due_on": event.due_on.isoformat()},
        )
    return None


def open_licence_short(starts_on: date, ends_on: date) -> bool:
    """INV-5 flag: an open licence under a year is accepted and flagged (the pilot's "原则上不低于一年")."""
    return ends_on < add_years(starts_on, 1)


def inv_6_exclusivity(state: PatentState, event: ev.LicenceGranted) -> Refusal | None:
    """INV-6 one exclusive or sole licence per scope; exclusive excludes all (SPC Interp. 2009 Art. 25)."""
    grant = Grant(event.licence_kind, event.licensee, event.territory, event.field,
                  event.starts_on, event.ends_on)
    return exclusivity_refusal(state, grant, lambda other: other.deal_id == event.parent_licence
                               or _is_ancestor(state, other, event))


def _is_ancestor(state: PatentState, candidate: Any, event: ev.LicenceGranted) -> bool:
    parent = event.parent_licence
    seen: set[str] = set()
    while parent is not None and parent not in seen:
        if parent == candidate.deal_id:
            return True
        seen.add(parent)
        record = state.licences.get(parent)
        parent = record.parent if record else None
    return False


def inv_7_open_licence(state: PatentState, event: Any) -> Refusal | None:
    """INV-7 no exclusive or sole licence beside a declared open licence (Patent Law Art. 50-51)."""
    declared = state.open_licence
    facts: dict[str, Any] = {"patent": state.number}
    day: date = event.effective_on
    if isinstance(event, ev.LicenceGranted):
        if event.licence_kind == "ordinary" or declared is None:
            return None
        if declared.starts_on <= event.ends_on and event.starts_on <= (
            declared.withdrawn_on or declared.ends_on
        ) and (declared.withdrawn_on is None or declared.withdrawn_on > event.starts_on):
            return Refusal(
                "INV-7",
                f"patent {state.number} is under open licence {declared.deal_id}: "
                f"no {event.licence_kind} licence",
                {**facts, "open_licence": declared.deal_id},
            )
        return None
    if isinstance(event, ev.OpenLicenceDeclared):
        if declared is not None and declared.in_force_on(day):
            return Refusal(
                "INV-7",
                f"patent {state.number} is already under open licence {declared.deal_id}",
                {**facts, "open_licence": declared.deal_id},
            )
        for lic in state.exclusive_or_sole.values():
            if lic.last_day() >= event.starts_on:
                return Refusal(
                    "INV-7",
                    f"patent {state.number}: {lic.kind} licence {lic.deal_id} is in force, "
                    "so no open licence may be declared",
                    {**facts, "licence": lic.deal_id, "licence_kind": lic.kind},
                )
        return None
    # withdrawal or take-up: an open licence must be in force on the day
    if declared is None or not declared.in_force_on(day):
        return Refusal(
            "INV-7",
            f"patent {state.number} has no open licence in force on {day}",
            {**facts, "effective_on": day.isoformat()},
        )
    return None


def inv_7_evaluation_report(state: PatentState, event: ev.OpenLicenceDeclared
                            ) -> Refusal | None:
    """INV-7 a utility-model or design open licence names its evaluation report (Patent Law Art. 50)."""
    if state.kind not in ("utility_model", "design") or event.evaluation_report:
        return None
    return Refusal(
        "INV-7",
        f"patent {state.number} is a {state.kind}: its open-licence declaration must name "
        "its patent evaluation report (evaluation_report)",
        {"patent": state.number, "kind": state.kind, "evaluation_report": None},
    )


def inv_8_sub_licence(state: PatentState, event: ev.LicenceGranted) -> Refusal | None:
    """INV-8 a sub-licence needs the right in its parent and stays within its scope and term."""
    if event.parent_licence is None:
        return None
    parent = state.licences.get(event.parent_licence)
    facts: dict[str, Any] = {"patent": state.number, "parent_licence": event.parent_licence}
    if parent is None:
        return Refusal("INV-8", f"licence {event.parent_licence} is not a licence of "
                       f"patent {state.number}", facts)
    problems: list[str] = []
    if not parent.sublicensable:
        problems.append("the parent licence grants no right to sub-license")
    if list(event.licensors) != [parent.licensee]:
        problems.append(f"the licensor must be the parent's licensee {parent.licensee}")
    if not (_scope_within(event.territory, parent.territory)
            and _scope_within(event.field, parent.field)):
        problems.append("territory or field exceeds the parent's")
    if event.starts_on < parent.starts_on or event.ends_on > parent.last_day():
        problems.append(
            f"term {event.starts_on}..{event.ends_on} exceeds the parent's "
            f"{parent.starts_on}..{parent.last_day()}"
        )
    if event.licence_kind != "ordinary" and parent.kind == "ordinary":
        problems.append("an ordinary licensee may grant only ordinary sub-licences")
    if not problems:
        return None
    return Refusal("INV-8", f"sub-licence under {parent.deal_id}: " + "; ".join(problems),
                   {**facts, "problems": problems})


def _scope_within(child: str, parent: str) -> bool:
    return parent == "*" or child == parent


def inv_9_one_pledge(state: PatentState, event: ev.PledgeRegistered) -> Refusal | None:
    """INV-9 one active pledge per patent, given by the registered owners (Civil Code Art. 440, 444)."""
    active = state.active_pledge()
    if active is not None:
        return Refusal(
            "INV-9",
            f"patent {state.number} is already pledged to {active.pledgee} "
            f"under pledge {active.deal_id}",
            {"patent": state.number, "blocking_pledge": active.deal_id,
             "pledgee": active.pledgee, "pledge_status": active.status},
        )
    not_owners = sorted(set(event.pledgors) - set(state.owners))
    if not_owners:
        return Refusal(
            "INV-9",
            f"patent {state.number}: the pledgor must be the registered owner set",
            {"patent": state.number, "owners": sorted(state.owners), "not_owners": not_owners},
        )
    return inv_2_every_owner(state, event)


def inv_10_pledgee_consent(state: PatentState, event: Any) -> Refusal | None:
    """INV-10 a pledged patent moves or is licensed only with the pledgee's consent (Civil Code Art. 444)."""
    pledge = state.active_pledge()
    if pledge is None or event.pledgee_consent:
        return None
    return Refusal(
        "INV-10",
        f"patent {state.number} is pledged to {pledge.pledgee} under pledge {pledge.deal_id}: "
        f"{event.TOPIC} needs the pledgee's consent (pledgee_consent)",
        {"patent": state.number, "pledge": pledge.deal_id, "pledgee": pledge.pledgee},
    )


def inv_11_disposal(state: PatentState, event: ev.PledgeDisposed) -> Refusal | None:
    """INV-11 disposal needs an active pledge in default; no automatic forfeiture (Civil Code Art. 436, 401)."""
    pledge = state.pledges.get(event.pledge)
    facts: dict[str, Any] = {"patent": state.number, "pledge": event.pledge}
    if pledge is None:
        return Refusal("INV-11", f"pledge {event.pledge} does not cover patent {state.number}",
                       facts)
    if pledge.status != "defaulted":
        return Refusal(
            "INV-11",
            f"pledge {event.pledge} is {pledge.status}: only a pledge in default may be disposed",
            {**facts, "pledge_status": pledge.status},
        )
    return None


def inv_12_pledge_open(state: PatentState, event: Any) -> Refusal | None:
    """INV-12 a pledge ends once, by release or disposal; lost collateral ends it too (Art. 393, 436)."""
    pledge = state.pledges.get(event.pledge)
    facts: dict[str, Any] = {"patent": state.number, "pledge": event.pledge}
    if pledge is None:
        return Refusal("INV-12", f"pledge {event.pledge} does not cover patent {state.number}",
                       facts)
    if not pledge.encumbers or (
        isinstance(event, ev.LoanDefaulted) and pledge.status == "defaulted"
    ):
        return Refusal(
            "INV-12",
            f"pledge {event.pledge} on patent {state.number} is already {pledge.status}",
            {**facts, "pledge_status": pledge.status,
             "since": (pledge.ended_on or pledge.defaulted_on or pledge.registered_on).isoformat()},
        )
    return None


def inv_14_licence_in_force(state: PatentState, event: ev.LicenceTerminated) -> Refusal | None:
    """INV-14 a licence lasts its term through transfers and ends once (Patent Law Art. 12)."""
    licence = state.licences.get(event.licence)
    facts: dict[str, Any] = {"patent": state.number, "licence": event.licence}
    if licence is None:
        return Refusal("INV-14", f"licence {event.licence} does not cover patent {state.number}",
                       facts)
    if licence.last_day() < event.effective_on:
        return Refusal(
            "INV-14",
            f"licence {event.licence} already ended on {licence.last_day()}",
            {**facts, "ended_on": licence.last_day().isoformat()},
        )
    return None


def inv_15_valuation(state: PatentState, event: Any) -> Refusal | None:
    """INV-15 equity contribution and debt-to-equity carry a valuation (Company Law Art. 48)."""
    needs = isinstance(event, ev.EquityContributed) or (
        isinstance(event, ev.PledgeDisposed)
        and event.mode in ("debt_to_equity", "equity_contribution")  # issue 19
    )
    if not needs or (event.valuation is not None and event.valuation.amount > 0):
        return None
    return Refusal(
        "INV-15",
        f"{event.TOPIC} of patent {state.number} needs a valuation above zero",
        {"patent": state.number, "valuation": None if event.valuation is None
         else event.valuation.as_json()},
    )


RULES: dict[type[ev.LedgerEvent], tuple[Rule, ...]] = {
    ev.PatentRegistered: (inv_1_registered_once,),
    ev.PatentStatusChanged: (inv_4_status_change,),
    ev.PatentTermExtended: (inv_5_term_extension,),
    ev.OwnershipTransferred: (inv_4_in_force, inv_2_every_owner, inv_10_pledgee_consent),
    ev.EquityContributed: (
        inv_4_in_force, inv_2_every_owner, inv_15_valuation, inv_10_pledgee_consent,
    ),
    ev.LicenceGranted: (
        inv_4_in_force, inv_8_sub_licence, inv_3_co_owner_licence, inv_2_pool_licence,
        inv_5_within_term, inv_7_open_licence, inv_6_exclusivity, inv_6_outside_pool,
        inv_10_pledgee_consent,
    ),
    ev.LicenceTerminated: (inv_14_licence_in_force,),
    ev.OpenLicenceDeclared: (
        inv_4_in_force, inv_2_every_owner, inv_5_within_term, inv_7_evaluation_report,
        inv_7_open_licence, inv_10_pledgee_consent,
    ),
    ev.OpenLicenceWithdrawn: (inv_2_every_owner, inv_7_open_licence),
    ev.OpenLicenceTaken: (inv_4_in_force, inv_7_open_licence),
    ev.PledgeRegistered: (inv_4_in_force, inv_9_one_pledge, inv_5_within_term),
    ev.PledgeReleased: (inv_12_pledge_open,),
    ev.LoanDefaulted: (inv_12_pledge_open,),
    # issue 18 (pools)
    ev.PoolEntered: (inv_4_in_force, inv_2_every_owner, inv_2_pool_entry_once,
                     inv_6_pool_entry),
    ev.PoolExited: (inv_2_every_owner, inv_2_pool_exit_member),
    ev.PledgeDisposed: (inv_4_in_force, inv_11_disposal, inv_15_valuation,
                        inv_11_licence_back, inv_5_disposal_licence,
                        inv_6_disposal_licence),  # issue 19: licences
    ev.PledgeChanged: (inv_12_pledge_open, inv_5_changed_due_date),  # issue 19
    ev.RiskPaymentMade: (inv_11_risk_payment, inv_11_risk_currency),  # issue 19
}


def check(state: PatentState, event: ev.LedgerEvent) -> Refusal | None:
    """The first rule `event` breaks on `state`, or None when the law allows it."""
    for rule in RULES.get(type(event), ()):
        refusal = rule(state, event)
        if refusal is not None:
            return refusal
    return None
