"""Industries and qualifications (domain.md s10.4): IPC symbols on patents, dated
qualifications on parties.

The International Patent Classification (WIPO, Strasbourg Agreement 1971) writes a symbol as
section (A-H), class (two digits), subclass (a letter), then main group (1-4 digits), a slash
and subgroup (2-6 digits): `F16K 1/00`, `G06F 16/245`. The ledger stores the symbol in that
one spelling, so "f16k1/00" and "F16K  1/00" name one symbol. The qualifications are the
enterprise titles the seeds' programmes count by (高新技术企业, 专精特新, 知识产权优势/示范企业,
专利产业化样板企业).
"""

from __future__ import annotations

import re
from enum import StrEnum

MAX_IPC_PER_PATENT = 50  # symbols on one patent: CNIPA front pages carry a handful
IPC_SECTIONS = "ABCDEFGH"

_SYMBOL = re.compile(r"([A-H])\s*([0-9]{2})\s*([A-Z])\s*([0-9]{1,4})\s*/\s*([0-9]{2,6})")


class Qualification(StrEnum):
    """An enterprise title with dates (s10.4); the seeds count deals and products by it."""

    HIGH_TECH = "high_tech"  # 高新技术企业
    SPECIALISED_SME = "specialised_sme"  # 专精特新 ("specialised, refined, distinctive, new")
    IP_ADVANTAGE = "ip_advantage"  # 知识产权优势企业
    IP_DEMONSTRATION = "ip_demonstration"  # 知识产权示范企业
    SAMPLE_ENTERPRISE = "sample_enterprise"  # 专利产业化样板企业


def parse_ipc(raw: str) -> str:
    """The symbol in its one spelling (`F16K 1/00`), or ValueError saying what is wrong."""
    found = _SYMBOL.fullmatch(raw.strip().upper())
    if found is None:
        raise ValueError(
            f"{raw!r} is not an IPC symbol: section A-H, two-digit class, subclass letter, "
            "main group, slash, subgroup of at least two digits (e.g. 'F16K 1/00')")
    section, klass, subclass, group, subgroup = found.groups()
    if int(group) == 0:
        raise ValueError(f"{raw!r} is not an IPC symbol: main group 0 does not exist")
    return f"{section}{klass}{subclass} {int(group)}/{subgroup}"


def ipc_section(symbol: str) -> str:
    """The section (A-H) a stored symbol belongs to: its first letter."""
    return symbol[:1]
