"""Judging a risk-sharing payment towards a pledged loan (issue 19; domain.md s11.3).

`POST /v1/risk-events {event_id, pledge, kind, payer, amount, paid_on}`: the client names the
payment (`event_id`, its idempotency key `risk-event:<id>`); the ledger files it on the
timeline of the pledge's patents, so INV-11 judges it on the pledge as it stood on the day it
was paid (a backdated payment too), and in the loan's currency (INV-11, since the disposal
that follows counts what it covered against the claim).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.law import events as ev
from ledger.law.keys import risk_event_key
from ledger.posting import commands as c
from ledger.posting.decisions import Accepted, Invalid, Outcome, Stamp, once

if TYPE_CHECKING:
    from ledger.engine.register import Register


@once(lambda cmd: risk_event_key(cmd.event_id))
def decide_risk_event(register: Register, stamp: Stamp, cmd: c.RiskEventCommand,
                      print_: str) -> Outcome:
    errors: list[dict[str, object]] = []
    pledge = register.deals.get(cmd.pledge)
    if not isinstance(pledge, ev.PledgeRegistered):
        errors.append({"path": ["body", "pledge"],
                       "message": f"unknown pledge {cmd.pledge}: no PledgeRegistered has that "
                       "deal_id"})
    if cmd.payer not in register.parties:
        errors.append({"path": ["body", "payer"], "message": f"unknown party {cmd.payer}"})
    if errors or not isinstance(pledge, ev.PledgeRegistered):
        return Invalid(errors)
    event = ev.RiskPaymentMade(
        originator_id=ev.stream_id("risk-event", cmd.event_id), originator_version=1,
        timestamp=stamp.recorded_at, effective_on=cmd.paid_on, posted_by=stamp.posted_by,
        event_id=cmd.event_id, pledge=cmd.pledge, risk_kind=cmd.kind.value, payer=cmd.payer,
        amount=cmd.amount.value(), patents=list(pledge.patents), fingerprint=print_,
    )
    refusal = register.judge(event)  # INV-11 on each of the pledge's patents
    return refusal if refusal is not None else Accepted([event])

