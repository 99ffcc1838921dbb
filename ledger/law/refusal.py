"""What a rule answers when the law forbids a posting: the rule's code and the facts.

Its own module so that the deal rules (`ledger/law/rules.py`) and the rules on a patent's own
record (`ledger/law/status_rules.py`) share it without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ledger.law.patent_state import PatentState


@dataclass(frozen=True, slots=True)
class Refusal:
    """A deal the law forbids: HTTP 409 with `rule` and `facts`."""

    rule: str
    detail: str
    facts: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[PatentState, Any], Refusal | None]
