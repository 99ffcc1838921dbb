"""Import USPTO assignment records through the ledger's own command path.

Each record becomes the decisions the REST handlers would make (register a party or patent
first seen here, then the deal), handed to the writer in one posting that is not atomic: a
refused deal leaves its registrations standing, and the refusal (INV-n and its facts) is the
record's reason in the report. Deal ids are `USPTO-<reel>-<frame>`, so importing a file again
stores nothing new. The mapping, and why, is in docs/uspto-import.md.

Records are posted in the order of their legal effect, not file order: a release recorded
after a new security interest on the same day is posted first, as the law reads it, so a
refinancing does not look like two pledges at once (INV-9).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from pydantic import ValidationError

from importers.names import party_id, party_kind
from importers.uspto_xml import (
    AssignmentRecord,
    BrokenRecord,
    Document,
    Property,
    read_records,
)
from ledger.engine.register import Register
from ledger.engine.writer import Decide, Result
from ledger.law import events as ev
from ledger.law.identifiers import IdentifierError, parse_patent_number
from ledger.law.values import expiry_date
from ledger.posting import commands as c
from ledger.posting import decisions as d
from ledger.service import LedgerService

POSTED_BY = "importer:uspto"
WINDOW = 2_000  # records posted and not yet answered; the writer queues at most 20,000
MAX_RECORDS_PER_FILE = 2_000_000  # records are sorted in memory before posting

# Conveyance text (upper case) -> how the ledger reads it; first match wins.
CONVEYANCES: tuple[tuple[str, str], ...] = (
    ("NUNC PRO TUNC", "nunc_pro_tunc"),
    ("CORRECTIVE", "corrective"),
    ("RELEASE", "release"),
    ("SECURITY", "security"),
    ("MERGER", "merger"),
    ("CHANGE OF NAME", "name_change"),
    ("LICENSE", "licence"),
    ("ASSIGNMENT OF ASSIGNOR", "assignment"),
)
TITLE_MOVING = {"assignment": "undisclosed", "nunc_pro_tunc": "undisclosed",
                "corrective": "undisclosed", "merger": "merger", "name_change": "name_change"}
# Who owned the patents just before the record: the debtor is the assignee of a release.
OWNERS_ARE_ASSIGNEES = {"release"}


def classify(conveyance: str) -> str | None:
    text = conveyance.upper()
    return next((kind for phrase, kind in CONVEYANCES if phrase in text), None)


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    records_read: int = 0
    by_conveyance: Counter[str] = field(default_factory=Counter)
    deals_stored: int = 0  # records whose deal is in the ledger now (new or from before)
    events_written: int = 0  # new events only: zero when a file is imported again
    pending_properties: int = 0  # applications not yet granted: not registered
    expired_properties: int = 0  # patents whose term ended before the deal: left out of it
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (reel/frame, reason)
    broken: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_conveyance.items()))
        out = [f"records read: {self.records_read} ({kinds})",
               f"deals in the ledger: {self.deals_stored}; events written: {self.events_written}",
               f"properties left out: {self.pending_properties} pending applications, "
               f"{self.expired_properties} patents expired before the deal",
               f"records skipped: {len(self.skipped)}; broken: {len(self.broken)}"]
        out += [f"  skipped {key}: {reason}" for key, reason in self.skipped]
        out += [f"  broken {where}: {reason}" for where, reason in self.broken]
        return out


@dataclass(frozen=True, slots=True)
class _Planned:
    record: AssignmentRecord
    kind: str
    decisions: list[Decide]


class UsptoImport:
    """Reads files, posts their records to a writer, and reports what became of each."""

    def __init__(self, service: LedgerService,
                 progress: Callable[[int, int], None] | None = None):
        self._service = service
        self._progress = progress or (lambda done, total: None)

    def run(self, paths: Sequence[Path]) -> ImportReport:
        report = ImportReport()
        for path in paths:
            report.files.append(str(path))
            records = self._read(path, report)
            self._post(self._plan(records, report), report)
        return report

    # --- reading ------------------------------------------------------------------------

    def _read(self, path: Path, report: ImportReport) -> list[AssignmentRecord]:
        records: list[AssignmentRecord] = []
        try:
            for item in read_records(path):
                report.records_read += 1
                if isinstance(item, BrokenRecord):
                    report.broken.append((f"{path.name} record {item.index}"
                                          + (f" ({item.key})" if item.key else ""),
                                          item.reason))
                    continue
                records.append(item)
                if len(records) > MAX_RECORDS_PER_FILE:
                    raise ValueError(f"{path} holds more than {MAX_RECORDS_PER_FILE} records; "
                                     "split it")
        except ParseError as error:
            report.broken.append((str(path), f"not well-formed XML, read up to there: {error}"))
        # In the order of legal effect; on one day a release goes before a new interest.
        records.sort(key=lambda r: (_effective_on(r), classify(r.conveyance) != "release",
                                    r.reel, r.frame))
        return records

    # --- planning: a record's decisions -----------------------------------------------------

    def _plan(self, records: Iterable[AssignmentRecord],
              report: ImportReport) -> list[_Planned]:
        planned = []
        for record in records:
            kind = classify(record.conveyance)
            report.by_conveyance[kind or "other"] += 1
            if kind is None:
                report.skipped.append((record.key, f"conveyance {record.conveyance!r} is not "
                                       "a deal the ledger records (docs/uspto-import.md)"))
                continue
            granted = [p for p in record.properties if p.granted is not None]
            report.pending_properties += len(record.properties) - len(granted)
            if not granted:
                report.skipped.append((record.key, "every property is a pending application; "
                                       "the ledger registers granted patents"))
                continue
            effective = _effective_on(record)
            expired = [p for p in granted if _expiry(p) < effective]
            report.expired_properties += len(expired)
            granted = [p for p in granted if _expiry(p) >= effective]
            if not granted:
                report.skipped.append((record.key, f"every granted patent had expired by "
                                       f"{effective} (INV-4: no deal on an expired patent)"))
                continue
            try:
                planned.append(_Planned(record, kind, _decisions(record, kind, granted)))
            except (ValueError, IdentifierError) as error:  # pydantic's errors are ValueErrors
                report.skipped.append((record.key, f"cannot be read as a deal: {error}"))
        return planned

    # --- posting ------------------------------------------------------------------------

    def _post(self, planned: list[_Planned], report: ImportReport) -> None:
        """Post in order, keeping at most WINDOW records unanswered (the writer groups them)."""
        waiting: list[tuple[_Planned, Future[list[Result]]]] = []
        for done, item in enumerate(planned, 1):
            waiting.append((item, self._service.post_decisions(item.decisions, POSTED_BY,
                                                             atomic=False)))
            if len(waiting) >= WINDOW:
                self._collect(waiting, report)
                waiting = []
                self._progress(done, len(planned))
        self._collect(waiting, report)
        self._progress(len(planned), len(planned))

    def _collect(self, waiting: list[tuple[_Planned, Future[list[Result]]]],
                 report: ImportReport) -> None:
        for item, future in waiting:
            results = future.result(timeout=300)
            report.events_written += sum(1 for r in results if r.created)
            outcome = results[-1].outcome  # the deal; registrations come before it
            if isinstance(outcome, d.Accepted | d.Replayed):
                report.deals_stored += 1
            else:
                report.skipped.append((item.record.key, _reason(outcome)))


def _effective_on(record: AssignmentRecord) -> date:
    """When the deal takes effect in the ledger: on execution, or at grant if executed
    before it (an application assigned before grant issues to its assignee)."""
    grants = [p.granted.day for p in record.properties
              if p.granted is not None and p.granted.day is not None]
    return max([record.executed_on, *grants])


def _decisions(record: AssignmentRecord, kind: str, granted: list[Property]) -> list[Decide]:
    """Registrations of what is first seen here, then the deal itself."""
    decisions: list[Decide] = []
    names = {party_id(n.raw): n.raw for n in (*record.assignors, *record.assignees)}
    for pid, raw in names.items():
        party = c.PartyCommand.model_validate({"id": pid, "name": raw[:2000],
                                               "kind": party_kind(raw).value})
        decisions.append(_IfNew(f"party:{pid}", d.decide_party, party))
    before = record.assignees if kind in OWNERS_ARE_ASSIGNEES else record.assignors
    owners = _shares([party_id(n.raw) for n in before])
    numbers = []
    for prop in granted:
        cmd = _patent_command(prop, owners)
        numbers.append(cmd.number)
        decisions.append(_IfNew(f"patent:{cmd.number}", d.decide_patent, cmd))
    decisions.append(_DealDecision(record, kind, numbers, granted))
    return decisions


def _patent_command(prop: Property, owners: dict[str, str]) -> c.PatentCommand:
    grant, application = prop.granted, prop.application
    assert grant is not None
    number = parse_patent_number(f"{grant.country}{grant.number}").value
    granted_on = grant.day or (application.day if application else None)
    filed_on = application.day if application and application.day else granted_on
    return c.PatentCommand.model_validate({
        "number": number, "title": (prop.title or f"US patent {grant.number}")[:2000],
        "filed_on": filed_on, "granted_on": granted_on,
        "kind": _patent_kind(grant),
        "owners": [{"party": p, "share": s} for p, s in owners.items()]})


def _patent_kind(grant: Document) -> str:
    """Design patents (D numbers, S kind codes) are designs; utility, plant and reissue
    patents count as inventions."""
    return "design" if grant.number.startswith("D") or grant.kind.startswith("S") else "invention"


def _shares(parties: list[str]) -> dict[str, str]:
    """Equal shares summing to exactly 1 (the record does not state them): the last takes
    the rounding."""
    distinct = list(dict.fromkeys(parties))
    each = (Decimal(1) / len(distinct)).quantize(Decimal("0.0000000001"), rounding=ROUND_DOWN)
    shares = {p: str(each) for p in distinct}
    shares[distinct[-1]] = str(Decimal(1) - each * (len(distinct) - 1))
    return shares


@dataclass(frozen=True, slots=True)
class _IfNew:
    """Register a party or patent unless the ledger has it already (from any source)."""

    key: str
    decide: Callable[..., d.Outcome]
    cmd: Any

    def wants(self, keys: set[str], numbers: set[str]) -> None:
        keys.add(self.key)

    def __call__(self, register: Register, stamp: d.Stamp) -> d.Outcome:
        posted = register.posted.get(self.key)
        if posted is not None:
            return d.Replayed(posted)
        return self.decide(register, stamp, cmd=self.cmd)


@dataclass(frozen=True, slots=True)
class _DealDecision:
    """The record's deal, built in the writer against the register as it stands: a release
    names the security interest it ends, which only the register knows."""

    record: AssignmentRecord
    kind: str
    numbers: list[str]
    granted: list[Property]

    @property
    def deal_id(self) -> str:
        return f"USPTO-{self.record.reel}-{self.record.frame}"

    def wants(self, keys: set[str], numbers: set[str]) -> None:
        keys.add(f"deal:{self.deal_id}")
        keys.update([f"party:{party_id(n.raw)}"
                     for n in (*self.record.assignors, *self.record.assignees)])
        numbers.update(self.numbers)

    def __call__(self, register: Register, stamp: d.Stamp) -> d.Outcome:
        posted = register.posted.get(f"deal:{self.deal_id}")
        if posted is not None:  # imported before: idempotent by reel and frame
            return d.Replayed(posted)
        body = self._body(register)
        if isinstance(body, str):
            return d.Invalid([{"path": ["record", self.record.key], "message": body}])
        try:  # here, in the writer: a record naming its assignors as assignees, say
            cmd = c.DEAL.validate_python(body)
        except ValidationError as error:
            return d.Invalid([{"path": ["record", self.record.key],
                               "message": f"cannot be read as a deal: {error}"}])
        return d.decide_deal(register, stamp, cmd=cmd)

    def _body(self, register: Register) -> dict[str, Any] | str:
        record = self.record
        assignors = list(dict.fromkeys(party_id(n.raw) for n in record.assignors))
        assignees = list(dict.fromkeys(party_id(n.raw) for n in record.assignees))
        common: dict[str, Any] = {
            "deal_id": self.deal_id, "effective_on": _effective_on(record),
            "signed_on": record.executed_on, "registered_on": record.recorded_on,
            "patents": self.numbers}
        if self.kind in TITLE_MOVING:
            if self.kind in ("nunc_pro_tunc", "corrective"):
                corrected = _corrected_deal(register, record.conveyance, self.numbers)
                if corrected is not None and set(corrected.to_parties) != set(assignees):
                    # The earlier record named the wrong assignee: the patents pass from it
                    # to the right one, as a correction of that deal (INV-16, K10).
                    return {**common, "kind": "transfer",
                            "from_parties": list(corrected.to_parties),
                            "to_parties": [{"party": p, "share": s}
                                           for p, s in _shares(assignees).items()],
                            "consideration": "name_change", "corrects": corrected.deal_id}
                earlier = _same_conveyance(register, self.numbers, set(assignees))
                if earlier is not None:
                    return (f"re-records deal {earlier} (the same assignees already hold "
                            "these patents): nothing to change")
            return {**common, "kind": "transfer", "from_parties": assignors,
                    "to_parties": [{"party": p, "share": s}
                                   for p, s in _shares(assignees).items()],
                    "consideration": TITLE_MOVING[self.kind]}
        if self.kind == "security":
            return {**common, "kind": "pledge", "pledgors": assignors, "pledgee": assignees[0]}
        if self.kind == "release":
            pledge = _active_pledge(register, self.numbers, assignors[0])
            if pledge is None:
                return (f"no security interest of {assignors[0]} on these patents is in the "
                        "ledger (recorded before the files imported?)")
            deal = register.deals[pledge]
            return {**common, "kind": "pledge_release", "pledge": pledge,
                    "patents": [n for n in self.numbers if n in deal.patents]}
        if self.kind == "licence":
            ends = min(_expiry(p) for p in self.granted)
            return {**common, "kind": "licence", "licensors": assignors,
                    "licensee": assignees[0], "licence_kind": "unknown", "territory": "US",
                    "field": "*", "starts_on": common["effective_on"], "ends_on": ends,
                    "filed_on": record.recorded_on, "fee": {"mode": "undisclosed"}}
        raise AssertionError(f"unmapped conveyance kind {self.kind}")


def _expiry(prop: Property) -> date:
    grant, application = prop.granted, prop.application
    assert grant is not None
    filed = (application.day if application and application.day else grant.day)
    assert filed is not None
    return expiry_date(_patent_kind(grant), filed)


def _active_pledge(register: Register, numbers: list[str], pledgee: str) -> str | None:
    for number in numbers:
        timeline = register.patents.get(number)
        if timeline is None:
            continue
        held = [p for p in timeline.current().pledges.values()
                if p.encumbers and p.pledgee == pledgee]
        if held:
            return max(held, key=lambda p: p.registered_on).deal_id
    return None


_REEL_FRAME = re.compile(r"REEL\s*(?:NO\.?\s*)?(\d+)\s*,?\s*FRAME\s*(?:NO\.?\s*)?(\d+)")


def _corrected_deal(register: Register, conveyance: str, numbers: list[str]
                    ) -> ev.OwnershipTransferred | None:
    """The transfer a corrective record names ("... PREVIOUSLY RECORDED ON REEL 12345 FRAME
    678"), when the ledger holds it and its assignees still hold every patent."""
    found = _REEL_FRAME.search(conveyance.upper())
    if found is None:
        return None
    deal = register.deals.get(f"USPTO-{int(found.group(1))}-{int(found.group(2))}")
    if not isinstance(deal, ev.OwnershipTransferred):
        return None
    for number in numbers:
        timeline = register.patents.get(number)
        if timeline is None or set(timeline.current().owners) != set(deal.to_parties):
            return None
    return deal


def _same_conveyance(register: Register, numbers: list[str], assignees: set[str]) -> str | None:
    """A transfer already in the ledger to the same assignees, who still hold every patent."""
    for number in numbers:
        timeline = register.patents.get(number)
        if timeline is None or set(timeline.current().owners) != assignees:
            return None
    first = register.whole(numbers[0])
    assert first is not None
    for event in reversed(first.events):
        if isinstance(event, ev.OwnershipTransferred) and set(event.to_parties) == assignees:
            return event.deal_id
    return None


def _reason(outcome: d.Outcome) -> str:
    if isinstance(outcome, d.Invalid):
        return "; ".join(str(e["message"]) for e in outcome.errors)
    if isinstance(outcome, d.Conflict):
        return outcome.detail
    if isinstance(outcome, d.Skipped):
        return "left out with its record"
    rule = getattr(outcome, "rule", "")
    return f"{rule}: {getattr(outcome, 'detail', outcome)}"
