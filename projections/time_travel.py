"""The register on an effective date (`as_of`) as the ledger knew it at a moment (`as_known_at`).

Two independent axes: `as_known_at` drops the events recorded after that moment (what an
auditor would have seen then); `as_of` folds the remaining ones up to that effective date (the
legal state on that day, including backdated postings recorded later). Both fold the patent's
own events with the ledger's fold, so the answer is the register's, not an approximation.
"""

from __future__ import annotations

from datetime import date, datetime

from ledger.law import events as ev
from projections.patent_view import PatentFold, PatentView


def patent_at(events: list[tuple[int, ev.LedgerEvent]], as_of: date | None,
              as_known_at: datetime | None) -> PatentView | None:
    """None when the patent was not on the register then (or not yet recorded)."""
    known = [(p, e) for p, e in events if as_known_at is None or e.timestamp <= as_known_at]
    if not known:
        return None
    position, registered = known[0]
    assert isinstance(registered, ev.PatentRegistered)
    if as_of is not None and as_of < registered.effective_on:
        return None
    fold = PatentFold(registered, position)
    for later_position, event in known[1:]:
        fold.add(later_position, event)
    return fold.view(as_of)
