"""USPTO patent-assignment XML (the daily `ad*.xml` files), read as a stream of records.

The file's DTD (in its header) names each `patent-assignment` as one recorded conveyance:
reel and frame (its identity at the USPTO), the recorded date, the conveyance text, the
assignors with their execution dates, the assignees and the properties (application,
publication and patent numbers). `iterparse` frees each record once read, so memory stays flat
however long the file is. A record whose content cannot be read (a missing reel or frame, a
date that is not a date) comes out as a `BrokenRecord` and the stream goes on; XML that is not
well-formed ends the file there, reported by the caller.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

# Kind codes of a granted US patent: B (utility), E (reissue), S (design), P (plant).
GRANTED_KINDS = ("B", "E", "S", "P")
APPLICATION_KIND = "X0"  # the application number, dated with its filing date


@dataclass(frozen=True, slots=True)
class Document:
    country: str
    number: str
    kind: str
    day: date | None


@dataclass(frozen=True, slots=True)
class Property:
    documents: tuple[Document, ...]
    title: str

    @property
    def granted(self) -> Document | None:
        return next((d for d in self.documents if d.kind[:1] in GRANTED_KINDS), None)

    @property
    def application(self) -> Document | None:
        return next((d for d in self.documents if d.kind == APPLICATION_KIND), None)


@dataclass(frozen=True, slots=True)
class Name:
    raw: str
    executed_on: date | None = None  # assignors only
    city: str | None = None
    state: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    reel: int
    frame: int
    recorded_on: date
    conveyance: str
    assignors: tuple[Name, ...]
    assignees: tuple[Name, ...]
    properties: tuple[Property, ...]

    @property
    def key(self) -> str:
        return f"{self.reel}/{self.frame}"

    @property
    def executed_on(self) -> date:
        """When the conveyance was complete: the last assignor's signature (else recorded)."""
        days = [a.executed_on for a in self.assignors if a.executed_on is not None]
        return max(days) if days else self.recorded_on


@dataclass(frozen=True, slots=True)
class BrokenRecord:
    index: int  # 1-based position in the file
    key: str | None  # reel/frame when they could be read
    reason: str


def read_records(path: Path) -> Iterator[AssignmentRecord | BrokenRecord]:
    """Every `patent-assignment` of the file, in file order."""
    index = 0
    for _, element in ET.iterparse(path, events=("end",)):
        if element.tag != "patent-assignment":
            continue
        index += 1
        yield _record(element, index)
        element.clear()


def _record(element: ET.Element, index: int) -> AssignmentRecord | BrokenRecord:
    reel, frame = _text(element, "assignment-record/reel-no"), \
        _text(element, "assignment-record/frame-no")
    key = f"{reel}/{frame}" if reel and frame else None
    try:
        if not (reel and frame and reel.isdigit() and frame.isdigit()):
            raise ValueError(f"reel {reel!r} and frame {frame!r} must be numbers")
        recorded = _date(_text(element, "assignment-record/recorded-date/date"), "recorded date")
        if recorded is None:
            raise ValueError("no recorded date")
        assignors = tuple(
            Name(_required(a, "name"), _date(_text(a, "execution-date/date"), "execution date"))
            for a in element.iterfind("patent-assignors/patent-assignor"))
        assignees = tuple(
            Name(_required(a, "name"), None, _text(a, "city"), _text(a, "state"),
                 _text(a, "country-name"))
            for a in element.iterfind("patent-assignees/patent-assignee"))
        if not assignors or not assignees:
            raise ValueError("a conveyance needs at least one assignor and one assignee")
        properties = tuple(_property(p) for p in element.iterfind(
            "patent-properties/patent-property"))
        if not properties:
            raise ValueError("no patent properties")
        return AssignmentRecord(int(reel), int(frame), recorded,
                                _text(element, "assignment-record/conveyance-text") or "",
                                assignors, assignees, properties)
    except ValueError as error:
        return BrokenRecord(index, key, str(error))


def _property(element: ET.Element) -> Property:
    documents = tuple(
        Document(_text(d, "country") or "US", _required(d, "doc-number"), _text(d, "kind") or "",
                 _date(_text(d, "date"), "document date"))
        for d in element.iterfind("document-id"))
    title_element = element.find("invention-title")
    title = " ".join("".join(title_element.itertext()).split()) if title_element is not None \
        else ""
    return Property(documents, title)


def _text(element: ET.Element, path: str) -> str | None:
    found = element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _required(element: ET.Element, path: str) -> str:
    value = _text(element, path)
    if value is None:
        raise ValueError(f"missing {path}")
    return value


def _date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8])) if len(text) == 8 \
            else date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a date (YYYYMMDD)") from None
