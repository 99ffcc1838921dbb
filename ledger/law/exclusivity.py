"""INV-6 exclusivity, asked of any licence the register would hold: one granted by a licence
deal (`rules.inv_6_exclusivity`) or by a disposal of a pledge (issue 19,
`pledge_rules.inv_6_disposal_licence`), so both read the same law.

Over the same patent, territory, field and overlapping term there may be at most one exclusive
or sole licence; an exclusive licence excludes every other; a sole licence excludes other
licensees; ordinary licences stack (SPC Interp. 2009 Art. 25).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from ledger.law.patent_state import LicenceRecord, PatentState
from ledger.law.refusal import Refusal


@dataclass(frozen=True, slots=True)
class Grant:
    """The licence asked about: what INV-6 compares with each licence on the register."""

    kind: str
    licensee: str
    territory: str
    field: str
    starts_on: date
    ends_on: date


def licences_conflict(kind_a: str, licensee_a: str, kind_b: str, licensee_b: str) -> bool:
    if "exclusive" in (kind_a, kind_b):
        return True
    if "sole" in (kind_a, kind_b):
        return licensee_a != licensee_b
    return False


def exclusivity_refusal(state: PatentState, grant: Grant,
                        within: Callable[[LicenceRecord], bool] = lambda _: False
                        ) -> Refusal | None:
    """INV-6 (or INV-14, when the licence in the way survived a transfer): the first licence
    on the register `grant` collides with. `within` spares the licences the grant lives
    under (a sub-licence's parent and its ancestors: INV-8 judges those)."""
    # Two ordinary licences never collide: an ordinary one is checked against the others.
    others = state.licences if grant.kind != "ordinary" else state.exclusive_or_sole
    for other in others.values():
        if not licences_conflict(other.kind, other.licensee, grant.kind, grant.licensee):
            continue
        if not other.overlaps(grant.territory, grant.field, grant.starts_on, grant.ends_on):
            continue
        if within(other):
            continue
        survived = not other.granted_by_owners & set(state.owners)
        return Refusal(
            "INV-14" if survived else "INV-6",
            f"patent {state.number}: a {grant.kind} licence would overlap "
            f"{other.kind} licence {other.deal_id} to {other.licensee}"
            + (" granted before the patent was transferred: it survives the transfer"
               if survived else ""),
            {
                "patent": state.number,
                "overlapping_licence": other.deal_id,
                "overlapping_kind": other.kind,
                "overlapping_licensee": other.licensee,
                "overlapping_term": [other.starts_on.isoformat(), other.last_day().isoformat()],
            },
        )
    return None
