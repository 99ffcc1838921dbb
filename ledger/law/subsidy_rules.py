"""The law of a subsidy's recovery (clawback): INV-18 (domain.md s9, issue 17).

A recovery (追回) returns public money a party was paid under a programme, in whole or in part,
when it was obtained or used against the rules (Henan: "出现套取补贴等异常行为的单位…给予相应的
惩戒"; 财政违法行为处罚处分条例 art. 14: "追回…骗取的有关资金"). What is recovered is the money
paid: together, a subsidy's recoveries never exceed what was awarded, and they are counted in
the award's currency. A fine imposed beside the recovery is a penalty, not a recovery, and is
not recorded here. Like the deal rules (`ledger/law/rules.py`), the rule reads plain values and
returns a `Refusal` naming the facts, or None; the writer asks it (ledger/posting/recovery.py).
"""

from __future__ import annotations

from decimal import Decimal

from ledger.law import events as ev
from ledger.law.rules import Refusal
from ledger.law.values import Money

MAX_RECOVERIES = 100  # recoveries recorded for one subsidy (a limit of the ledger, not of law)


def inv_18_recovery_within_award(subsidy: ev.SubsidyAwarded, recovered_before: Money | None,
                                 amount: Money) -> Refusal | None:
    """INV-18 recoveries return at most what was paid, in its currency (财政违法行为处罚处分条例 art. 14)."""
    awarded = subsidy.amount
    facts = {"subsidy": subsidy.subsidy_id, "party": subsidy.party,
             "awarded": awarded.as_json(), "amount": amount.as_json()}
    if amount.currency != awarded.currency:
        return Refusal("INV-18", f"subsidy {subsidy.subsidy_id} was awarded in "
                       f"{awarded.currency}; a recovery of it is counted in {awarded.currency}, "
                       f"not {amount.currency}", facts)
    before = recovered_before.amount if recovered_before is not None else Decimal(0)
    remaining = awarded.amount - before
    if amount.amount <= remaining:
        return None
    return Refusal("INV-18", f"subsidy {subsidy.subsidy_id} awarded {awarded.amount} "
                   f"{awarded.currency}, of which {before} was recovered before: at most "
                   f"{remaining} is left to recover, not {amount.amount}",
                   {**facts, "recovered_before": Money(before, awarded.currency).as_json(),
                    "remaining": Money(remaining, awarded.currency).as_json()})
