"""Party names from foreign records, normalised conservatively into party ids.

The same company is spelled "SOUNDBITE COMMUNICATIONS, INC." in one record and "SOUNDBITE
COMMUNICATIONS INC" in the next. Normalising case, punctuation and the spelling of corporate
suffixes ("INCORPORATED" is "INC", "L.L.C." is "LLC") makes those one party; the suffix itself
is kept, because "COEN COMPANY, INC" and "COEN COMPANY, LLC" are two legal persons (one
conveyed its patents to the other). The raw name is kept as the party's name.
"""

from __future__ import annotations

import re

from ledger.law.values import PartyKind

ID_PREFIX = "ext:USPTO:"
MAX_NAME = 190  # the party id allows 200 characters after its scheme

_SUFFIXES = {
    "INCORPORATED": "INC", "CORPORATION": "CORP", "COMPANY": "CO", "LIMITED": "LTD",
    "L L C": "LLC", "L L P": "LLP", "L P": "LP", "P L C": "PLC", "N A": "NA",
    "S A": "SA", "A G": "AG", "B V": "BV", "N V": "NV", "K K": "KK", "G M B H": "GMBH",
}
_SUFFIX_PATTERN = re.compile(r"\b(" + "|".join(re.escape(k) for k in _SUFFIXES) + r")\b")
_ORGANISATION_WORDS = re.compile(
    r"\b(INC|CORP|CO|LTD|LLC|LLP|LP|PLC|NA|SA|AG|BV|NV|KK|GMBH|KGAA|AB|OY|SPA|SRL|SAS|PTY|"
    r"BANK|TRUST|UNIVERSITY|COLLEGE|INSTITUTE|HOSPITAL|FOUNDATION|ASSOCIATION|TECHNOLOGIES|"
    r"TECHNOLOGY|SYSTEMS|HOLDINGS|GROUP|LABORATORIES|PHARMACEUTICALS?|AGENT|SOCIETY|"
    r"INTERNATIONAL|ENTERPRISES|PARTNERS|FUND|CAPITAL|INDUSTRIES|GOVERNMENT|SECRETARY|STATE)\b")


def normalise(raw: str) -> str:
    """Upper case; '&' as AND; punctuation to spaces; one spelling per corporate suffix."""
    text = raw.upper().replace("&", " AND ")
    text = re.sub(r"[^\w\s]", " ", text)
    text = " ".join(text.split())
    text = _SUFFIX_PATTERN.sub(lambda m: _SUFFIXES[m.group(1)], text)
    return text[:MAX_NAME].strip()


def party_id(raw: str) -> str:
    return ID_PREFIX + normalise(raw)


def party_kind(raw: str) -> PartyKind:
    """A guess from the name alone, stated as such in docs/uspto-import.md."""
    name = normalise(raw)
    if "BANK" in name.split():
        return PartyKind.BANK
    if re.search(r"\b(UNIVERSITY|COLLEGE)\b", name):
        return PartyKind.UNIVERSITY
    if re.search(r"\bINSTITUTE\b", name):
        return PartyKind.RESEARCH_INSTITUTE
    if _ORGANISATION_WORDS.search(name):
        return PartyKind.ENTERPRISE
    return PartyKind.INDIVIDUAL
