"""From deal to use (domain.md s10.1-10.2, issue 18): conversion outcomes and patent products.

Shanghai's universities and hospitals report each stock patent's outcome in nine categories
(2024 "盘活系统" feedback); six follow from deals the ledger already holds, two are posted as
industrialisation reports, one comes from pool entries. A patent product (专利产品备案, Huainan,
Henan) names the patents it uses; INV-17 holds it to patents its owner may use on its filing
date. The rules read a patent's state on a date (`ledger/law/patent_state.py`), like every
other rule, and are judged on the register as it stood then (`ledger/posting/outcome_decisions.py`).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from ledger.law.patent_state import DEAD_STATUSES, PatentState
from ledger.law.refusal import Refusal


class Conversion(StrEnum):
    """The nine categories, in Shanghai's order; their values are public names (s10.1)."""

    TRANSFERRED = "transferred"  # 已转让
    EQUITY_CONTRIBUTED = "equity_contributed"  # 已作价入股
    OPEN_LICENSED = "open_licensed"  # 已达成开放许可
    ORDINARY_LICENSED = "ordinary_licensed"  # 已达成普通许可
    SOLE_LICENSED = "sole_licensed"  # 已达成排他许可
    EXCLUSIVE_LICENSED = "exclusive_licensed"  # 已达成独占许可
    INDUSTRIALISED_BY_LICENSEE = "industrialised_by_licensee"  # 已由被许可人实现产业化
    INDUSTRIALISED_BY_PARTNER = "industrialised_by_partner"  # 已通过技术服务/开发合同由合作企业实现产业化
    POOLED = "pooled"  # 已参与专利池运营


CONVERSIONS: tuple[str, ...] = tuple(c.value for c in Conversion)
# "No conversion": the absence filter of the conversions query (a stock patent not yet used).
NO_CONVERSION = "none"


class IndustrialisationBasis(StrEnum):
    """What a partner's use rests on: a licence, or a technical service or development contract
    (技术服务合同 / 技术开发合同, Civil Code arts. 851, 878)."""

    LICENCE = "licence"
    SERVICE_CONTRACT = "service_contract"
    DEVELOPMENT_CONTRACT = "development_contract"


def industrialisation_category(basis: str) -> str:
    """By a licensee on a licence; by a partner under a service or development contract."""
    if basis == IndustrialisationBasis.LICENCE:
        return Conversion.INDUSTRIALISED_BY_LICENSEE.value
    return Conversion.INDUSTRIALISED_BY_PARTNER.value


def licensed_on(state: PatentState, party: str, day: date) -> list[str]:
    """The licences (deal ids, take-ups of an open licence included) under which `party` may
    use the patent on `day`."""
    return sorted(d for d, record in state.licences.items()
                  if record.licensee == party and record.in_force_on(day))


def _facts(state: PatentState, day: date, **more: Any) -> dict[str, Any]:
    return {"patent": state.number, "on": day.isoformat(), **more}


def inv_4_used_alive(state: PatentState, day: date) -> Refusal | None:
    """INV-4 no conversion by using a lapsed, expired or invalidated patent (Arts. 42-47)."""
    status = state.status_on(day)
    if day < state.filed_on:
        return Refusal("INV-4", f"patent {state.number} was not yet filed on {day} "
                       f"(filed {state.filed_on})",
                       _facts(state, day, filed_on=state.filed_on.isoformat()))
    if status in DEAD_STATUSES:
        return Refusal("INV-4", f"patent {state.number} is {status} on {day}: its use is "
                       "free to all, no conversion of it", _facts(state, day, status=status))
    return None


def inv_17_industrialised_by_licensee(state: PatentState, party: str, day: date,
                                      deal: str | None) -> Refusal | None:
    """INV-17 a licensee's use rests on a licence in force for it on started_on (Art. 12; s10.1)."""
    held = licensed_on(state, party, day)
    if deal is None and held:
        return None
    if deal is not None and deal in held:
        return None
    if deal is not None:
        return Refusal("INV-17", f"licence {deal} does not license {party} under patent "
                       f"{state.number} on {day}",
                       _facts(state, day, party=party, deal=deal, licences_in_force=held))
    return Refusal("INV-17", f"{party} holds no licence under patent {state.number} in force "
                   f"on {day}: no industrialisation by a licensee",
                   _facts(state, day, party=party, licences_in_force=held))


def inv_17_product_patent(state: PatentState, owner: str, day: date) -> Refusal | None:
    """INV-17 a product names only patents its owner holds or is licensed under (s10.2; Arts. 11-12)."""
    if owner in state.owners or licensed_on(state, owner, day):
        return None
    return Refusal("INV-17", f"on {day} {owner} neither holds patent {state.number} nor is "
                   "licensed under it: a product may name only such patents",
                   _facts(state, day, owner=owner, owners=sorted(state.owners)))
