"""Pages of a patent's licences: one order, one meaning of "in force", in SQL and in Python.

A popular patent carries hundreds of licences, so `patent { licences }` answers a page of them
(`first`, at most `MAX_PAGE` of the GraphQL API), after a cursor, optionally only those in
force (or not) on the answer's date, and `licenceCount` says how many the whole list holds.
The register now is paged by PostgreSQL (`ReadModels.licence_pages`, with the clauses made
here); a patent folded to `asOf`/`asKnownAt` is paged here, in Python, over its folded
licences. Both use the same key and the same test of "in force", so the two views page alike.

The order is the log's: by the position of the event that granted the licence, then deal id.
A licence recorded later, backdated or not, always lands after every licence already
recorded, so a client paging while deals arrive never skips or repeats one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from ledger.law.patent_state import licence_last_day
from projections.patent_view import LicenceView


@dataclass(frozen=True, slots=True)
class LicencePage:
    """Which licences of a patent to list (a DataLoader key, so hashable)."""

    number: str
    day: date  # the answer's date (asOf, else today): "in force" is judged on it
    in_force: bool | None = None  # None: every licence recorded
    after: tuple[int, str] | None = None  # the last key seen: (grant position, deal id)
    first: int = 100
    open_only: bool = False  # only take-ups of an open licence


@dataclass(frozen=True, slots=True)
class LicenceCount:
    """How many licences `licences(inForce:)` lists over all its pages."""

    number: str
    day: date
    in_force: bool | None = None


def order_key(licence: LicenceView) -> tuple[int, str]:
    """The list's order and the cursor's content: the granting event's position, deal id."""
    return licence.positions[0], licence.deal_id


def in_force_on(licence: LicenceView, day: date) -> bool:
    """In force on `day`: from its start to its last day (`ledger.law.patent_state`)."""
    return licence.starts_on <= day <= licence_last_day(licence.ends_on, licence.terminated_on)


def _matches(licence: LicenceView, day: date, in_force: bool | None, open_only: bool) -> bool:
    if open_only and not licence.open_licence:
        return False
    return in_force is None or in_force_on(licence, day) == in_force


def page_of(licences: Iterable[LicenceView], asked: LicencePage) -> list[LicenceView]:
    """`asked` answered from a folded patent's licences, as `ReadModels.licence_pages` does."""
    chosen = sorted((lic for lic in licences
                     if _matches(lic, asked.day, asked.in_force, asked.open_only)
                     and (asked.after is None or order_key(lic) > asked.after)),
                    key=order_key)
    return chosen[:asked.first]


def count_of(licences: Iterable[LicenceView], asked: LicenceCount) -> int:
    return sum(1 for lic in licences if _matches(lic, asked.day, asked.in_force, False))


# --- SQL: the same, for rm_licences --------------------------------------------------------

PAGE_SQL = ("SELECT r.* FROM unnest(%s::text[]) AS k(number) CROSS JOIN LATERAL"
            " (SELECT * FROM rm_licences r WHERE r.number = k.number{where}"
            " ORDER BY r.positions[1], r.deal_id LIMIT %s) r")
COUNT_SQL = ("SELECT number, count(*) AS n FROM rm_licences r WHERE number = ANY(%s){where}"
             " GROUP BY number")


def sql_filter(day: date, in_force: bool | None, open_only: bool,
               after: tuple[int, str] | None = None) -> tuple[str, list[Any]]:
    """The extra WHERE of a page or count over `rm_licences r`, and its parameters. In force
    is `in_force_on`: the last day is the day before a termination on or before `ends_on`."""
    where: list[str] = []
    params: list[Any] = []
    if in_force is not None:
        clause = ("(r.starts_on <= %s AND %s <= r.ends_on"
                  " AND (r.terminated_on IS NULL OR %s < r.terminated_on))")
        where.append(clause if in_force else f"NOT {clause}")
        params.extend((day, day, day))
    if open_only:
        where.append("r.open_licence")
    if after is not None:
        where.append("(r.positions[1], r.deal_id) > (%s, %s)")
        params.extend(after)
    return "".join(f" AND {w}" for w in where), params


K = TypeVar("K")


def by_shape(keys: Sequence[K], shape: Callable[[K], object]) -> dict[object, list[K]]:
    """Keys grouped by what they ask apart from the patent: one statement a group (a page of
    patents whose licences are asked alike shares one)."""
    groups: dict[object, list[K]] = defaultdict(list)
    for key in keys:
        groups[shape(key)].append(key)
    return groups


def licence_of_row(r: dict[str, Any]) -> LicenceView:
    return LicenceView(
        deal_id=r["deal_id"], licensors=tuple(r["licensors"]), licensee=r["licensee"],
        licence_kind=r["licence_kind"], territory=r["territory"], field=r["field"],
        starts_on=r["starts_on"], ends_on=r["ends_on"], fee=r["fee"],
        sublicensable=r["sublicensable"], parent_licence=r["parent_licence"],
        open_licence=r["open_licence"], terminated_on=r["terminated_on"],
        positions=tuple(r["positions"]))
