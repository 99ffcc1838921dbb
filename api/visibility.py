"""The read paths' side of ledger/law/audiences.py: its one answer in the forms they filter by.

`/v1/events` filters by stored topic in SQL (`topics`); GraphQL filters `rm_events.kind` in
SQL (`kind_names`) and passes every record it shows through `shown_record`. Both say None
when the role reads everything, so auditors and regulators pay for no filter.
"""

from __future__ import annotations

import dataclasses

from ledger.law import audiences
from ledger.law.events import ALL_EVENTS
from projections.event_facts import CLASS_OF_KIND, KIND_NAMES
from projections.queries import EventRecord


def topics(role: str | None) -> tuple[str, ...] | None:
    """The stored topics `role` may read; None: every one."""
    if audiences.reads_everything(role):
        return None
    return tuple(cls.TOPIC for cls in audiences.readable(role))


def kind_names(role: str | None) -> tuple[str, ...] | None:
    """The read-side kind names (`rm_events.kind`) `role` may read; None: every one."""
    if audiences.reads_everything(role):
        return None
    return tuple(KIND_NAMES[cls] for cls in audiences.readable(role))


def shown_record(role: str | None, record: EventRecord) -> EventRecord | None:
    """The record as `role` may see it (withheld members absent), or None if it may not."""
    payload = audiences.shown(role, CLASS_OF_KIND[record.kind], record.payload)
    if payload is None:
        return None
    if len(payload) == len(record.payload):
        return record
    return dataclasses.replace(record, payload=payload)


def proof_withheld(role: str | None, kind_name: str) -> bool:
    """An event's proof carries its stored bytes: withheld when any member is withheld."""
    return bool(audiences.withheld_members(role, CLASS_OF_KIND[kind_name]))


def docs_table() -> str:
    """The table of docs/reliability.md ("What each role may read"), made from the policy."""
    roles = audiences.ROLES
    lines = ["| Event: REST `kind` (GraphQL `kind`) | " + " | ".join(roles)
             + " | Withheld members |",
             "|---" * (len(roles) + 2) + "|"]
    for cls in ALL_EVENTS:
        name = KIND_NAMES[cls]
        marks = ["yes" if audiences.may_read(role, cls) else "no" for role in roles]
        withheld = "; ".join(
            f"{role}: {', '.join(sorted(audiences.withheld_members(role, cls)))}"
            for role in roles if audiences.withheld_members(role, cls)) or "none"
        lines.append(f"| `{cls.TOPIC}` (`{name}`) | " + " | ".join(marks) + f" | {withheld} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m api.visibility: the docs' table
    print(docs_table(), end="")
