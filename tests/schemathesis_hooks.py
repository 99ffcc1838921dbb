"""A check schemathesis runs beside its own (schemathesis.toml loads this file).

A body the document admits may still be refused with 422, for the reasons the 422 entry of
every command route states: rules JSON Schema cannot express (a check character, shares that
sum to 1, dates in order, a name that is blank or carries control characters, the decimals of
a JSON number) and references to what the register does not hold. schemathesis.toml lets
`positive_data_acceptance` take 422 on those routes; this check then holds each such 422 to
those reasons, so a 422 for anything the document does state (a pattern, a length, a type,
a missing or extra member) is still a failure: the document and the validators disagree.
"""

from __future__ import annotations

from typing import Any

import schemathesis

# pydantic error types a schema-valid body may meet: the models' own rules (ValueError in a
# validator) and decimal places of a JSON number (the string form states them by pattern).
BEYOND_THE_SCHEMA = frozenset({"value_error", "decimal_max_places", "decimal_max_digits",
                               "decimal_whole_digits"})
UNKNOWN_REFERENCE = "https://patent-ledger.example/problems/invalid-reference"


@schemathesis.check
def refusals_of_valid_data_name_a_rule_beyond_the_schema(ctx: Any, response: Any,
                                                         case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    problem = response.json()
    if problem.get("type") == UNKNOWN_REFERENCE:
        return None
    stated = [e for e in problem.get("errors") or [] if e.get("type") not in BEYOND_THE_SCHEMA]
    if stated or not problem.get("errors"):
        raise AssertionError(f"a schema-valid request was refused for what the document "
                             f"states itself: {stated or problem}")
    return None
