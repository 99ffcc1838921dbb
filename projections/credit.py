"""Credit grades and the blacklist on any date, each with the rules and events behind it.

Domain.md section 7: A no record; B minor flags (late filings, dismissed anomalies); C on the
dishonest list, an unresolved default, or a confirmed anomaly; D on the serious-dishonesty
list. The blacklist holds regulators' listings and automatic ones (unresolved defaults,
confirmed anomalies), each with grounds, start, end and the date repair may be asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from projections.anomaly_config import credit_params

GRADES = "ABCD"
LIST_GRADE = {"dishonest": "C", "serious_dishonesty": "D"}


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
    list: str  # dishonest, serious_dishonesty, or automatic:<rule>
    grounds: str
    starts_on: date
    ends_on: date | None
    repair_from: date
    automatic: bool
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


def automatic_listings(marks: list[dict[str, Any]], findings: list[dict[str, Any]],
                       day: date) -> list[Listing]:
    """Unresolved defaults and confirmed anomalies list a party without a regulator's act."""
    params = credit_params()
    consequences = tuple(params.values["consequences"])
    found = []
    for mark in marks:
        if mark["rule"] == "INV-11" and in_force(mark["starts_on"], mark["ends_on"], day):
            found.append(Listing(
                f"auto:{mark['mark_id']}", mark["party"], "automatic:INV-11", mark["detail"],
                mark["starts_on"], mark["ends_on"], mark["starts_on"], True,
                tuple(mark["evidence"]), consequences))
    for flag in findings:
        if flag["decision"] != "confirmed":
            continue
        starts = flag["found_at"].date()
        ends = starts + timedelta(days=params.days("confirmed_anomaly_days"))
        if in_force(starts, ends, day):
            found.append(Listing(
                f"auto:{flag['id']}:{flag['party']}", flag["party"], f"automatic:{flag['rule']}",
                f"confirmed anomaly {flag['id']}: {flag['explanation']}", starts, ends,
                starts + timedelta(days=params.days("repair_after_days")), True,
                (*flag["evidence"], flag["finding_position"]), consequences))
    return found


def grade(party: str, listings: list[Listing], marks: list[dict[str, Any]],
          findings: list[dict[str, Any]], day: date) -> Credit:
    """The party's grade on `day`, with every reason that holds then."""
    params = credit_params()
    minor = timedelta(days=params.days("minor_mark_days"))
    reasons: list[Reason] = []
    for listing in listings:
        if not listing.automatic and in_force(listing.starts_on, listing.ends_on, day):
            reasons.append(Reason(f"LIST:{listing.list}", LIST_GRADE[listing.list],
                                  f"on the {listing.list.replace('_', ' ')} list from "
                                  f"{listing.starts_on} ({listing.listing_id}): "
                                  f"{listing.grounds}", listing.evidence))
    for mark in marks:
        ends = mark["ends_on"]
        if mark["grade"] == "B" and ends is None:
            ends = mark["starts_on"] + minor
        if in_force(mark["starts_on"], ends, day):
            reasons.append(Reason(mark["rule"], mark["grade"], mark["detail"],
                                  tuple(mark["evidence"])))
    for flag in findings:
        found_on = flag["found_at"].date()
        if flag["decision"] == "confirmed":
            ends = found_on + timedelta(days=params.days("confirmed_anomaly_days"))
            grade_, verb = "C", "confirmed"
        else:
            ends, grade_, verb = found_on + minor, "B", "dismissed"
        if in_force(found_on, ends, day):
            reasons.append(Reason(flag["rule"], grade_,
                                  f"{verb} anomaly {flag['id']}: {flag['explanation']}",
                                  (*flag["evidence"], flag["finding_position"])))
    worst = max((r.grade for r in reasons), key=GRADES.index, default="A")
    return Credit(party, worst, tuple(sorted(reasons, key=lambda r: -GRADES.index(r.grade))))
