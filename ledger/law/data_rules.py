"""Data no registry would accept, refused with the shape (422) before the ledger judges it.

These need no register: each looks at one command's own values. One small function per
rule, its source on the first line of its docstring; each raises `ValueError` with a
sentence the client can act on (the request models of `ledger/posting/commands.py` call them, so a
failure is a 422 naming the field, and nothing is stored). The rules that need the register
are INV-1..16 in `ledger/law/rules.py` (409).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ledger.law.identifiers import PatentNumber

# CNIPA kind digits whose number's year is the filing year (invention, utility model, design);
# a PCT entry's number (8, 9) carries the year it entered China, not the international filing.
_YEAR_IS_FILING_YEAR = frozenset("123")
_OLD_NUMBERS_FROM = 85  # the 8-digit numbers ran from 1985 to 2003: 85..99 and 00..03


def receivers_are_not_the_givers(givers: Iterable[str], receivers: Iterable[str]) -> None:
    """Patent Law Art. 10: a transfer moves the right to another; the same set on both sides moves nothing.

    Only the same set is refused: a change of co-owners (A to A and B, A and B to A) is a
    lawful transfer of shares.
    """
    given, received = set(givers), set(receivers)
    if given == received:
        raise ValueError(f"the receivers are the givers ({', '.join(sorted(given))}): "
                         "a transfer to oneself moves nothing")


def number_year(number: PatentNumber) -> int | None:
    """The year a Chinese number's first digits carry, when it is a filing year (kinds 1-3)."""
    digits = number.value.partition(".")[0]
    if number.scheme != "CN":
        return None
    if len(digits) == 12:
        return int(digits[:4]) if digits[4] in _YEAR_IS_FILING_YEAR else None
    two = int(digits[:2])
    return (1900 if two >= _OLD_NUMBERS_FROM else 2000) + two


def number_year_is_filing_year(number: PatentNumber, filed_on: date) -> None:
    """CNIPA numbering (ZC 0006-2003, and the 8-digit numbers before it): the year comes first."""
    year = number_year(number)
    if year is not None and year != filed_on.year:
        raise ValueError(f"number {number.value} was given in {year}, but filed_on is "
                         f"{filed_on.isoformat()}: an invention, utility model or design number "
                         "carries its filing year")


def founded_by_today(founded_on: date, today: date) -> None:
    """Registration records what exists: a party cannot be founded after today (UTC)."""
    if founded_on > today:
        raise ValueError(f"founded_on {founded_on.isoformat()} is after today "
                         f"({today.isoformat()}, UTC)")
