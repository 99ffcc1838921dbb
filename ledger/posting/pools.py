"""Judging the issue 18 postings that are not deals: pools, a patent's IPC classification,
a party's dated qualifications and size changes (domain.md s10.3-10.4).

Pool entries, exits and pool licences are deals (`decisions.judge_deal`, with the pool
looked up by `decisions.pool_fields`); these four are registry facts. Each is idempotent by
its key (ledger/law/keys.py): a pool by its id, a qualification by party, title and first
day, a size change by party and day, a classification by its body (it has no id of its own).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from ledger.law import events as ev
from ledger.law.keys import classification_key, pool_key, qualification_key, size_key
from ledger.posting import commands as c
from ledger.posting.decisions import (
    Accepted,
    Invalid,
    Outcome,
    Replayed,
    Stamp,
    _idempotent,
    once,
)
from ledger.posting.fingerprints import fingerprint

if TYPE_CHECKING:
    from ledger.engine.register import Register


def _unknown_party(register: Register, party: str, path: list[str | int]) -> Invalid | None:
    if party in register.parties:
        return None
    return Invalid([{"path": path, "message": f"unknown party {party}"}])


def _before_founding(register: Register, party: str, day: date, name: str) -> Invalid | None:
    """A trait dated before the party was founded describes nobody (422)."""
    founded = register.parties[party].founded_on
    if founded is None or day >= founded:
        return None
    return Invalid([{"path": ["body", name],
                     "message": f"{day} is before party {party} was founded on {founded}"}])


@once(lambda cmd: pool_key(cmd.pool_id))
def decide_pool(register: Register, stamp: Stamp, cmd: c.PoolCommand, print_: str) -> Outcome:
    unknown = _unknown_party(register, cmd.administrator, ["body", "administrator"])
    if unknown is not None:
        return unknown
    return Accepted([ev.PoolFormed(
        originator_id=ev.stream_id("pool", cmd.pool_id), originator_version=1,
        timestamp=stamp.recorded_at, effective_on=cmd.formed_on, posted_by=stamp.posted_by,
        pool_id=cmd.pool_id, name=cmd.name, administrator=cmd.administrator, field=cmd.field,
        fingerprint=print_,
    )])


def decide_classification(register: Register, stamp: Stamp, number: str,
                          cmd: c.ClassificationCommand) -> Outcome:
    """The patent's IPC symbols from `effective_on` (default: the day it is recorded)."""
    print_ = fingerprint(cmd)
    earlier = _idempotent(register, classification_key(number, print_), print_)
    if isinstance(earlier, Replayed):
        return earlier
    if number not in register.patents:
        return Invalid([{"path": ["path", "number"], "message": f"unknown patent {number}"}])
    stream = ev.stream_id("patent", number)
    event = ev.PatentClassified(
        originator_id=stream, originator_version=register.next_version(stream),
        timestamp=stamp.recorded_at, effective_on=cmd.effective_on or stamp.recorded_at.date(),
        posted_by=stamp.posted_by, number=number, ipc=list(cmd.ipc), fingerprint=print_,
    )
    refusal = register.judge(event)  # no rule reads it; judged so it joins the timeline
    return refusal if refusal is not None else Accepted([event])


@once(lambda cmd, party_id: qualification_key(party_id, cmd.qualification.value,
                                              cmd.valid_from.isoformat()))
def decide_qualification(register: Register, stamp: Stamp, party_id: str,
                         cmd: c.QualificationCommand, print_: str) -> Outcome:
    invalid = _unknown_party(register, party_id, ["path", "party_id"]) or _before_founding(
        register, party_id, cmd.valid_from, "from")
    if invalid is not None:
        return invalid
    return Accepted([ev.PartyQualified(
        originator_id=ev.stream_id("qualification", qualification_key(
            party_id, cmd.qualification.value, cmd.valid_from.isoformat())),
        originator_version=1, timestamp=stamp.recorded_at, effective_on=cmd.valid_from,
        posted_by=stamp.posted_by, party=party_id, qualification=cmd.qualification.value,
        valid_from=cmd.valid_from, valid_to=cmd.valid_to, certificate=cmd.certificate,
        fingerprint=print_,
    )])


@once(lambda cmd, party_id: size_key(party_id, cmd.effective_on.isoformat()))
def decide_size(register: Register, stamp: Stamp, party_id: str, cmd: c.SizeCommand,
                print_: str) -> Outcome:
    invalid = _unknown_party(register, party_id, ["path", "party_id"]) or _before_founding(
        register, party_id, cmd.effective_on, "effective_on")
    if invalid is not None:
        return invalid
    return Accepted([ev.PartySizeChanged(
        originator_id=ev.stream_id("party-size", size_key(party_id,
                                                          cmd.effective_on.isoformat())),
        originator_version=1, timestamp=stamp.recorded_at, effective_on=cmd.effective_on,
        posted_by=stamp.posted_by, party=party_id, size=cmd.size.value, fingerprint=print_,
    )])
