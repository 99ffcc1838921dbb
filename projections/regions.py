"""Regions as GB/T 2260 administrative division codes, and how they nest (domain.md s9).

A code has six digits: two for the province, two for the prefecture, two for the county.
A province (410000) includes every code that starts with its two digits (410100 Zhengzhou,
410102, 419001 Jiyuan), a prefecture (410100) every code that starts with its four, and a
county only itself. Parties may still carry other region labels (the contract's region field
is free text, e.g. "CN-34"): those match only themselves, exactly as before issue 17.
"""

from __future__ import annotations

import re

# GB/T 2260 provinces, autonomous regions, municipalities and special administrative regions.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
})
_SIX_DIGITS = re.compile(r"[0-9]{6}")


def is_division_code(region: str) -> bool:
    """Six digits under a GB/T 2260 province, not ending a level early (410000, 410100 and
    410102 are codes; 410002 names a county of no prefecture, and 000000 no province)."""
    if not _SIX_DIGITS.fullmatch(region) or region[:2] not in PROVINCES:
        return False
    return not (region[2:4] == "00" and region[4:] != "00")


def check(region: str) -> str:
    """The region of a query or a programme: a six-digit string must be a GB/T 2260 code
    (a mistyped code would silently match nothing); anything else is an exact label."""
    if _SIX_DIGITS.fullmatch(region) and not is_division_code(region):
        raise ValueError(f"region {region} is not a GB/T 2260 code (a province is NN0000, a "
                         "prefecture NNNN00, a county NNNNNN, under a province code)")
    return region


def prefix(region: str) -> str | None:
    """What every code inside `region` starts with (410000 -> 41, 410100 -> 4101, 410102 ->
    410102); None for a label that is not a division code (it contains only itself)."""
    if not is_division_code(region):
        return None
    if region[2:] == "0000":
        return region[:2]
    if region[4:] == "00":
        return region[:4]
    return region


def contains(outer: str, inner: str) -> bool:
    """Whether region `inner` lies within `outer` (a region contains itself)."""
    if outer == inner:
        return True
    start = prefix(outer)
    return start is not None and is_division_code(inner) and inner.startswith(start)


def narrower(programme_region: str, asked: str | None) -> str:
    """The region a programme's targets are counted in when a query asks `asked`: the
    programme's own region, or a region inside it. A target applies only within its
    programme's region, so a region around it counts the programme's region, and a region
    outside it is refused."""
    if asked is None or contains(asked, programme_region):
        return programme_region
    if contains(programme_region, asked):
        return asked
    raise ValueError(f"region {asked} lies outside the programme's region {programme_region}; "
                     "its targets apply only there")


def sql_match(column: str) -> str:
    """SQL: `column` lies within the region of parameters %(region)s / %(region_prefix)s
    (see `parameters`)."""
    return (f"({column} = %(region)s OR ({column} ~ '^[0-9]{{6}}$' AND "
            f"left({column}, length(%(region_prefix)s)) = %(region_prefix)s))")


def parameters(region: str | None) -> dict[str, str | None]:
    """The query parameters `sql_match` reads (both None: any region)."""
    return {"region": region, "region_prefix": None if region is None else prefix(region)}
