"""The rules on a patent's standing: whether it can carry a deal on a day (INV-4), how its
status may change, and the compensation of its term (INV-5, Art. 42).

Like `ledger/law/rules.py` (which runs these beside the deal rules): one small function per
rule, its code and legal source in the first line of its docstring, reading the patent's state
on the event's effective date and returning a `Refusal` or None. docs/law.md explains each
reading of the law.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.law import events as ev
from ledger.law.patent_state import DEAD_STATUSES, IN_FORCE, PENDING, PatentState
from ledger.law.refusal import Refusal
from ledger.law.values import add_years

# Status changes a patent can make from each status (CF01, CX01, IW01, PP01/PD01).
_STATUS_FROM = {
    "fee_grace": {IN_FORCE},
    "lapsed": {IN_FORCE, "fee_grace"},
    "restored": {"lapsed", "fee_grace"},
    "expired": {IN_FORCE, "fee_grace", "lapsed"},
    "invalidated": {IN_FORCE, "fee_grace", "lapsed", "expired"},
}
# Court preservation and an ownership dispute bind an application right too (Implementing
# Regulations 2023 r. 103-104 name "专利申请权或者专利权").
_FLAG_STATUSES = ("preserved", "preservation_lifted", "dispute_suspended", "dispute_lifted")
# Art. 42(2)-(3) (Patent Law 2020) came into force on this day; grants before it get no
# compensation (the law has no retroactive effect).
TERM_COMPENSATION_SINCE = date(2021, 6, 1)
DRUG_REVIEW_MAX_YEARS = 5  # Art. 42(3): "补偿期限不超过五年"
GRANT_DELAY_AFTER_YEARS = 4  # Art. 42(2): granted more than four years after filing


_ENCUMBERING = (ev.LicenceGranted, ev.PledgeRegistered, ev.OpenLicenceDeclared)
_TITLE_MOVING = (ev.OwnershipTransferred, ev.EquityContributed)


def inv_4_in_force(state: PatentState, event: Any) -> Refusal | None:
    """INV-4 no deal on a lapsed, expired or invalidated patent; none encumbering while frozen."""
    day: date = event.effective_on
    status = state.status_on(day)
    if status == IN_FORCE and not state.preserved and not state.dispute_suspended \
            and not state.invalidation_pending and not state.application_on(day):
        return None  # the usual case, answered before any facts are made
    facts: dict[str, Any] = {"patent": state.number, "effective_on": day.isoformat()}
    if day < state.filed_on:
        return Refusal(
            "INV-4",
            f"patent {state.number} was not yet filed on {day} (filed {state.filed_on})",
            {**facts, "filed_on": state.filed_on.isoformat()},
        )
    if status in DEAD_STATUSES:
        return Refusal(
            "INV-4", f"patent {state.number} is {status} on {day}", {**facts, "status": status}
        )
    return (inv_4_application(state, event, facts) or inv_4_frozen(state, event, facts)
            or inv_4_invalidation_pending(state, event, facts))


def inv_4_application(state: PatentState, event: Any, facts: dict[str, Any]) -> Refusal | None:
    """INV-4 an application may be transferred or licensed, not pledged or openly licensed (Art. 10, 50; s9)."""
    day: date = event.effective_on
    if not state.application_on(day) or not isinstance(event, _PATENT_RIGHT_ONLY):
        return None
    granted = "" if state.granted_on is None else f" (granted {state.granted_on})"
    return Refusal(
        "INV-4",
        f"patent {state.number} is an application on {day}{granted}: a {event.TOPIC} needs a "
        "granted patent right",
        {**facts, "status": "pending", "stage": "application",
         "granted_on": None if state.granted_on is None else state.granted_on.isoformat()},
    )


# A pledge needs a granted patent right (Civil Code Art. 440(5)); only a patentee declares an
# open licence (Patent Law Art. 50).
_PATENT_RIGHT_ONLY = (ev.PledgeRegistered, ev.OpenLicenceDeclared)


def inv_4_frozen(state: PatentState, event: Any, facts: dict[str, Any]) -> Refusal | None:
    """INV-4 nothing encumbering in fee grace; nothing while preserved or disputed (r. 103-104)."""
    status = state.status_on(event.effective_on)
    frozen = [
        name
        for name, on in (
            ("fee_grace", status == "fee_grace"),
            ("preserved", state.preserved),
            ("dispute_suspended", state.dispute_suspended),
        )
        if on
    ]
    if not frozen:
        return None
    # Court preservation and an ownership dispute also stop transfers (Implementing Rules
    # r. 103-104); the fee grace period only stops encumbering deals.
    blocked = isinstance(event, _ENCUMBERING) or (
        isinstance(event, _TITLE_MOVING) and frozen != ["fee_grace"]
    )
    if not blocked:
        return None
    return Refusal(
        "INV-4",
        f"patent {state.number} is {' and '.join(frozen)} on {event.effective_on}: "
        f"no {event.TOPIC}",
        {**facts, "status": status, "frozen_by": frozen},
    )


def inv_4_invalidation_pending(state: PatentState, event: Any, facts: dict[str, Any]
                               ) -> Refusal | None:
    """INV-4 no pledge while an invalidation request is pending, unless acknowledged (2021 measures art. 12)."""
    if not state.invalidation_pending or not isinstance(event, ev.PledgeRegistered) \
            or event.invalidation_acknowledged:
        return None
    return Refusal(
        "INV-4",
        f"patent {state.number} is under an invalidation request on {event.effective_on}: "
        "a pledge needs the parties' acknowledgement (invalidation_acknowledged)",
        {**facts, "status": "invalidation_requested", "invalidation_pending": True},
    )


def inv_4_status_change(state: PatentState, event: ev.PatentStatusChanged) -> Refusal | None:
    """INV-4 status moves as the register allows: no restoring a live patent, no reviving the dead."""
    status, day = event.status, event.effective_on
    if status == "granted":
        return inv_4_grant(state, event)
    application = state.application_on(day)
    facts: dict[str, Any] = {"patent": state.number,
                             "status": PENDING if application else state.status_on(day),
                             "requested": status}
    if application and status not in _FLAG_STATUSES:
        until = "" if state.granted_on is None else f" until {state.granted_on}"
        return Refusal("INV-4", f"patent {state.number} is an application on {day} (not "
                       f"granted{until}): it cannot become {status}", facts)
    if status in ("invalidation_requested", "invalidation_decided"):
        return inv_4_invalidation(state, event, facts)
    flags = {
        "preserved": not state.preserved, "preservation_lifted": state.preserved,
        "dispute_suspended": not state.dispute_suspended,
        "dispute_lifted": state.dispute_suspended,
    }
    if status in flags:
        if flags[status]:
            return None
        return Refusal("INV-4", f"patent {state.number}: {status} does not follow its state",
                       {**facts, "preserved": state.preserved,
                        "dispute_suspended": state.dispute_suspended})
    current = state.status if status == "expired" else state.status_on(day)
    if current in _STATUS_FROM[status]:
        return None
    return Refusal("INV-4", f"patent {state.number} is {current} on {day}: it cannot become "
                   f"{status}", facts)


def inv_4_grant(state: PatentState, event: ev.PatentStatusChanged) -> Refusal | None:
    """INV-4 an application is granted once, on or after its filing (Patent Law Art. 39-40)."""
    day = event.effective_on
    facts: dict[str, Any] = {"patent": state.number, "requested": "granted"}
    if state.granted_on is not None:
        return Refusal("INV-4", f"patent {state.number} was already granted on "
                       f"{state.granted_on}",
                       {**facts, "status": state.status_on(day),
                        "granted_on": state.granted_on.isoformat()})
    if day < state.filed_on:
        return Refusal("INV-4", f"patent {state.number} cannot be granted on {day}, before "
                       f"it was filed on {state.filed_on}",
                       {**facts, "status": PENDING, "filed_on": state.filed_on.isoformat()})
    return None


def inv_4_invalidation(state: PatentState, event: ev.PatentStatusChanged,
                       facts: dict[str, Any]) -> Refusal | None:
    """INV-4 an invalidation request is decided once, and a pending one is not made twice (Art. 45-46)."""
    if event.status == "invalidation_requested":
        if state.status == "invalidated":
            return Refusal("INV-4", f"patent {state.number} is already invalidated", facts)
        if state.invalidation_pending:
            return Refusal("INV-4", f"patent {state.number}: an invalidation request is "
                           "already pending", {**facts, "invalidation_pending": True})
        return None
    if not state.invalidation_pending:
        return Refusal("INV-4", f"patent {state.number}: no invalidation request is pending "
                       "to decide", {**facts, "invalidation_pending": False})
    return None


def inv_5_term_extension(state: PatentState, event: ev.PatentTermExtended) -> Refusal | None:
    """INV-5 compensation only for an invention granted since 2021-06-01, within bounds (Art. 42(2)-(3))."""
    facts: dict[str, Any] = {"patent": state.number, "basis": event.basis, "days": event.days,
                             "kind": state.kind}
    problem = _compensation_problem(state, event)
    if problem is not None:
        return Refusal("INV-5", f"patent {state.number}: no term compensation: {problem}",
                       {**facts, "granted_on": None if state.granted_on is None
                        else state.granted_on.isoformat(),
                        "expires_on": state.expires_on.isoformat()})
    day = event.effective_on
    status = state.status_on(day)
    if status != IN_FORCE and status != "fee_grace":
        return Refusal("INV-4", f"patent {state.number} is {status} on {day}: its term is "
                       "not compensated", {**facts, "status": status,
                                          "effective_on": day.isoformat()})
    return None


def _compensation_problem(state: PatentState, event: ev.PatentTermExtended) -> str | None:
    """Why Art. 42(2)-(3) gives this patent no such compensation, or None."""
    granted_on = state.granted_on
    if granted_on is None or event.effective_on < granted_on:
        return f"it is an application on {event.effective_on}; only a granted term is compensated"
    if state.kind != "invention":
        return f"Art. 42(2)-(3) compensates invention patents only, not a {state.kind}"
    if granted_on < TERM_COMPENSATION_SINCE:
        return (f"it was granted on {granted_on}, before Art. 42(2)-(3) came into force on "
                f"{TERM_COMPENSATION_SINCE}")
    if event.basis in state.extensions:
        return f"its term was already compensated for {event.basis}"
    base_expiry = date.fromordinal(state.expires_on.toordinal() - sum(state.extensions.values()))
    if event.basis == "grant_delay":
        delay_from = add_years(state.filed_on, GRANT_DELAY_AFTER_YEARS)
        delay = (granted_on - delay_from).days
        if event.days > delay:
            return (f"it was granted {max(delay, 0)} days after the four years from filing "
                    f"({delay_from}); {event.days} days exceed that delay")
        return None
    longest = (add_years(base_expiry, DRUG_REVIEW_MAX_YEARS) - base_expiry).days
    if event.days > longest:
        return f"a drug-review compensation is at most five years ({longest} days)"
    return None
