"""Judging a subsidy's recovery (issue 17): the subsidy, its earlier recoveries, INV-18.

Recoveries have no id of their own in the contract (`POST /v1/subsidies/{id}/recovery
{amount, recovered_on, grounds}`), so the ledger numbers them: the n-th is filed under
`recovery:<subsidy>:<n>` and carries the running total. Judging one walks the subsidy's
recoveries from the first (at most `MAX_RECOVERIES`, each one cached look-up): a body posted
before is that recovery again (its first answer, 200), and the last one's total is what was
recovered before. Two writers cannot both store the n-th: the event's stream
(`stream_id("recovery", "<subsidy>:<n>")`) is written once, so the store refuses the second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.law import events as ev
from ledger.law.keys import recovery_key, subsidy_key
from ledger.law.subsidy_rules import MAX_RECOVERIES, inv_18_recovery_within_award
from ledger.law.values import Money
from ledger.posting import commands as c
from ledger.posting.decisions import Accepted, Invalid, NotFound, Outcome, Replayed, Stamp
from ledger.posting.fingerprints import fingerprint

if TYPE_CHECKING:
    from ledger.engine.register import Register


def decide_recovery(register: Register, stamp: Stamp, subsidy_id: str,
                    cmd: c.RecoveryCommand) -> Outcome:
    subsidy = register.answered.get(subsidy_key(subsidy_id))
    if not isinstance(subsidy, ev.SubsidyAwarded):
        return NotFound("subsidy", subsidy_id)
    print_ = fingerprint(cmd)
    last: ev.SubsidyRecovered | None = None
    for sequence in range(1, MAX_RECOVERIES + 1):
        earlier = register.answered.get(recovery_key(subsidy_id, sequence))
        if not isinstance(earlier, ev.SubsidyRecovered):
            break
        if earlier.fingerprint == print_:
            return Replayed(register.posted[recovery_key(subsidy_id, sequence)])
        last = earlier
    else:
        return Invalid([{"path": ["path", "subsidy_id"], "message":
                         f"subsidy {subsidy_id} has {MAX_RECOVERIES} recoveries, the most "
                         "the ledger records for one subsidy"}])
    if cmd.recovered_on < subsidy.effective_on:
        return Invalid([{"path": ["body", "recovered_on"], "message":
                         f"before the subsidy was awarded on {subsidy.effective_on}"}])
    amount = cmd.amount.value()
    before = last.recovered_total if last is not None else None
    refusal = inv_18_recovery_within_award(subsidy, before, amount)
    if refusal is not None:
        return refusal
    sequence = last.sequence + 1 if last is not None else 1
    total = amount if before is None else Money(before.amount + amount.amount, amount.currency)
    return Accepted([ev.SubsidyRecovered(
        originator_id=ev.stream_id("recovery", f"{subsidy_id}:{sequence}"),
        originator_version=1, timestamp=stamp.recorded_at, effective_on=cmd.recovered_on,
        posted_by=stamp.posted_by, subsidy_id=subsidy_id, party=subsidy.party,
        sequence=sequence, amount=amount, recovered_total=total, grounds=cmd.grounds,
        fingerprint=print_,
    )])
