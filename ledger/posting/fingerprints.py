"""The fingerprint of a posted command: what makes posting it again idempotent.

A retry with the same body finds its first answer; the same key with another body is a
conflict (409). The fingerprint is stored with the event, so its definition never changes.
"""

from __future__ import annotations

import functools
import hashlib

from pydantic import BaseModel

# Fields added to commands after postings were first stored, with the value they take while
# unset: left out of the fingerprint while unset, so a replay of an older posting still
# matches the fingerprint it was stored with. `registered_on` (deals, 2026-11); issue 17:
# `status` (patents), `evaluation_report` (open-licence declarations),
# `invalidation_acknowledged` (pledges).
_LATER_FIELDS: dict[str, tuple[object, bytes]] = {
    "registered_on": (None, b"null"),
    "status": (None, b"null"),
    "evaluation_report": (None, b"null"),
    "invalidation_acknowledged": (False, b"false"),
    "ipc": (None, b"null"),  # issue 18 (pools): patents
    "pool": (None, b"null"),  # issue 18 (pools): licences
    # issue 19: intermediaries and official numbers (every deal), the pledge's debt, a
    # disposal's licence
    "agency": (None, b"null"),
    "platform": (None, b"null"),
    "technology_manager": (None, b"null"),
    "official_record": (None, b"null"),
    "debtor": (None, b"null"),
    "guarantors": ((), b"[]"),
    "insurer": (None, b"null"),
    "mixed_collateral": (None, b"null"),
    "licence": (None, b"null"),
}


@functools.cache
def _later_fields(model: type[BaseModel]) -> tuple[tuple[str, object, bytes], ...]:
    """The later fields `model` has, each with its unset value and the bytes it adds."""
    return tuple((name, unset, b',"' + name.encode() + b'":' + written)
                 for name, (unset, written) in _LATER_FIELDS.items()
                 if name in model.model_fields)


def fingerprint(command: BaseModel) -> str:
    """SHA-256 of the command's canonical JSON (pydantic's, fields in declared order).

    Cut from the serialised bytes rather than with pydantic's `exclude`, which costs about
    2 us a deal on the writer's path. The cut is exact: each later field follows others (never
    first), no nested model has one, and inside a JSON string every quote is escaped.
    """
    body = type(command).__pydantic_serializer__.to_json(command)
    for name, unset, written in _later_fields(type(command)):
        value = getattr(command, name)
        if value is unset or (unset == () and value == []):
            body = body.replace(written, b"", 1)
    return hashlib.sha256(body).hexdigest()
