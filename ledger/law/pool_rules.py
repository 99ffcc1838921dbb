"""The law on patent pools (domain.md s10.3; issue 18): who may put a patent in a pool and
take it out, who grants a pool licence, and how a pool's field binds exclusive licences.

Like `ledger/law/rules.py` (which runs these beside the deal rules): one small function per
rule, its code and legal source in the first line of its docstring. docs/pools.md explains
each reading.
"""

from __future__ import annotations

from typing import Any

from ledger.law import events as ev
from ledger.law.patent_state import PatentState, PoolMembership, _scope_meets
from ledger.law.refusal import Refusal


def _term(membership: PoolMembership) -> list[str | None]:
    last = membership.last_day()
    return [membership.starts_on.isoformat(), None if last is None else last.isoformat()]


def inv_2_pool_entry_once(state: PatentState, event: ev.PoolEntered) -> Refusal | None:
    """INV-2 a patent is in a pool once at a time: the owners' one act of joining (Patent Law Art. 14)."""
    present = state.pools.get(event.pool)
    if present is None or not present.overlaps(event.starts_on, event.ends_on):
        return None
    return Refusal(
        "INV-2",
        f"patent {state.number} is already in pool {event.pool} from {present.starts_on} "
        f"(entry {present.deal_id})",
        {"patent": state.number, "pool": event.pool, "entry": present.deal_id,
         "pool_term": _term(present)},
    )


def inv_2_pool_exit_member(state: PatentState, event: ev.PoolExited) -> Refusal | None:
    """INV-2 only a patent in the pool leaves it, by all its owners (Patent Law Art. 14)."""
    present = state.pools.get(event.pool)
    last = None if present is None else present.last_day()
    if present is not None and present.starts_on <= event.effective_on \
            and (last is None or event.effective_on <= last):
        return None
    return Refusal(
        "INV-2",
        f"patent {state.number} is not in pool {event.pool} on {event.effective_on}",
        {"patent": state.number, "pool": event.pool,
         "effective_on": event.effective_on.isoformat(),
         "pool_term": None if present is None else _term(present)},
    )


def inv_2_pool_licence(state: PatentState, event: ev.LicenceGranted) -> Refusal | None:
    """INV-2 a pool licence rests on the owners' entry: the administrator, within its term (Art. 14)."""
    if event.pool is None:
        return None
    present = state.pools.get(event.pool)
    facts: dict[str, Any] = {"patent": state.number, "pool": event.pool}
    if present is None or not present.covers(event.starts_on, event.ends_on):
        return Refusal(
            "INV-2",
            f"patent {state.number} is not in pool {event.pool} for the whole licence term "
            f"{event.starts_on}..{event.ends_on}: its owners' consent does not reach it",
            {**facts, "pool_term": None if present is None else _term(present),
             "licence_term": [event.starts_on.isoformat(), event.ends_on.isoformat()]},
        )
    if list(event.licensors) != [present.administrator]:
        return Refusal(
            "INV-2",
            f"a licence of pool {event.pool} is granted by its administrator "
            f"{present.administrator} alone",
            {**facts, "administrator": present.administrator,
             "licensors": list(event.licensors)},
        )
    return None


def inv_6_outside_pool(state: PatentState, event: ev.LicenceGranted) -> Refusal | None:
    """INV-6 no exclusive licence outside a pool over the pool's field and term (SPC Interp. 2009 Art. 25)."""
    if event.licence_kind != "exclusive" or event.pool is not None:
        return None
    for membership in state.pools.values():
        if _scope_meets(membership.field, event.field) \
                and membership.overlaps(event.starts_on, event.ends_on):
            return Refusal(
                "INV-6",
                f"patent {state.number} is in pool {membership.pool} (field "
                f"{membership.field!r}): an exclusive licence outside the pool over field "
                f"{event.field!r} would shut out the pool's licensees",
                {"patent": state.number, "pool": membership.pool,
                 "pool_field": membership.field, "pool_term": _term(membership),
                 "field": event.field},
            )
    return None


def inv_6_pool_entry(state: PatentState, event: ev.PoolEntered) -> Refusal | None:
    """INV-6 no entry under an exclusive licence over the pool's field (SPC Interp. 2009 Art. 25)."""
    for licence in state.exclusive_or_sole.values():
        if licence.kind != "exclusive" or not _scope_meets(licence.field, event.pool_field):
            continue
        if event.ends_on is not None and licence.starts_on > event.ends_on:
            continue
        if licence.last_day() < event.starts_on:
            continue
        return Refusal(
            "INV-6",
            f"patent {state.number} is under exclusive licence {licence.deal_id} to "
            f"{licence.licensee} (field {licence.field!r}): it cannot enter pool "
            f"{event.pool} (field {event.pool_field!r}) during that licence",
            {"patent": state.number, "pool": event.pool, "pool_field": event.pool_field,
             "overlapping_licence": licence.deal_id, "overlapping_licensee": licence.licensee,
             "overlapping_term": [licence.starts_on.isoformat(),
                                  licence.last_day().isoformat()]},
        )
    return None
