"""Credit grades and the blacklist on any date, each with the rules and events behind it.

Domain.md section 9 amends section 7 after the 2022 CNIPA credit rules (知识产权信用管理规定)
and 国办发〔2020〕49号: only a regulator's listing (PartyListed) puts a party on a list and
carries consequences, for a listing needs a decision on an effective legal document, notice
and a chance to object. Grades: A no record; B minor marks (late filings, dismissed
anomalies); C risk marks (an unresolved default, a confirmed anomaly) or the dishonest list;
D the serious-dishonesty list. A risk mark lowers the grade with its evidence and lists
nobody: the blacklist holds regulators' listings only (docs/credit.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from projections.anomaly_config import credit_params

GRADES = "ABCD"
# issue 19: the abnormal-operations list of agencies and platforms (异常名录, Huainan) lowers
# the grade as the dishonest list does (domain.md s11.4; docs/credit.md)
LIST_GRADE = {"dishonest": "C", "serious_dishonesty": "D", "abnormal_operations": "C"}


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    grade: str
    detail: str
    evidence: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Credit:
    party: str
    grade: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Listing:
    listing_id: str
    party: str
    list: str  # dishonest or serious_dishonesty (a regulator's)
    grounds: str
    starts_on: date
    ends_on: date | None
    repair_from: date
    automatic: bool  # always False since issue 17: the log alone lists nobody
    evidence: tuple[int, ...]
    consequences: tuple[str, ...]


def listing_from_row(row: dict[str, Any]) -> Listing:
    params = credit_params()
    ends = row["ended_on"] or row["ends_on"]
    evidence = (row["position"],) + ((row["end_position"],) if row["end_position"] else ())
    return Listing(row["listing_id"], row["party"], row["list"], row["grounds"],
                   row["starts_on"], ends,
                   row["starts_on"] + timedelta(days=params.days("repair_after_days")), False,
                   evidence, tuple(params.values["consequences"]))


def in_force(starts_on: date, ends_on: date | None, day: date) -> bool:
    return starts_on <= day and (ends_on is None or day < ends_on)


def listed_on(listings: list[Listing], day: date) -> list[Listing]:
    """The regulators' listings in force on `day`: the blacklist, and what `blacklisted`
    asks. Risk marks are not listings (domain.md s9)."""
    return [x for x in listings if not x.automatic and in_force(x.starts_on, x.ends_on, day)]


def grade(party: str, listings: list[Listing], marks: list[dict[str, Any]],
          findings: list[dict[str, Any]], day: date) -> Credit:
    """The party's grade on `day`, with every reason that holds then: regulators' listings in
    force, marks the log put on the party (INV-13 minor, INV-11 a risk mark until the pledge
    is released or disposed), and regulators' findings on anomalies (confirmed: a risk mark;
    dismissed: minor)."""
    params = credit_params()
    minor = timedelta(days=params.days("minor_mark_days"))
    reasons: list[Reason] = []
    for listing in listed_on(listings, day):
        reasons.append(Reason(f"LIST:{listing.list}", LIST_GRADE[listing.list],
                              f"on the {listing.list.replace('_', ' ')} list from "
                              f"{listing.starts_on} ({listing.listing_id}): "
                              f"{listing.grounds}", listing.evidence))
    for mark in marks:
        ends = mark["ends_on"]
        if mark["grade"] == "B" and ends is None:
            ends = mark["starts_on"] + minor
        if in_force(mark["starts_on"], ends, day):
            risk = "risk mark: " if mark["grade"] == "C" else ""  # lists nobody (s9)
            reasons.append(Reason(mark["rule"], mark["grade"], risk + mark["detail"],
                                  tuple(mark["evidence"])))
    for flag in findings:
        found_on = flag["found_at"].date()
        if flag["decision"] == "confirmed":
            ends = found_on + timedelta(days=params.days("confirmed_anomaly_days"))
            grade_, verb = "C", "risk mark: confirmed"
        else:
            ends, grade_, verb = found_on + minor, "B", "dismissed"
        if in_force(found_on, ends, day):
            reasons.append(Reason(flag["rule"], grade_,
                                  f"{verb} anomaly {flag['id']}: {flag['explanation']}",
                                  (*flag["evidence"], flag["finding_position"])))
    worst = max((r.grade for r in reasons), key=GRADES.index, default="A")
    return Credit(party, worst, tuple(sorted(reasons, key=lambda r: -GRADES.index(r.grade))))
