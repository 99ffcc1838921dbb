"""GraphQL errors: a client's mistake is BAD_USER_INPUT naming its argument, a fault is ours.

- A time without a zone is refused where it enters (the DateTime scalar), so no resolver ever
  compares a naive time with the ledger's aware ones.
- A literal argument that does not fit its type is reported by `ArgumentValues` (graphql-core's
  values rule, with the argument's name and the code added); a variable that does not fit, by
  `classify` (graphql-core coerces variables when it executes, outside the validation rules).
- Client errors are logged at INFO without a traceback; anything else is a server fault: logged
  at ERROR with its traceback, and its message replaced, so no internal text reaches a client.
- A read stopped by the read pool's statement timeout is a limit, not a fault: LIMIT_EXCEEDED
  naming it, logged at WARNING (on the national decade's log an `indicators` query over five
  years by quarter ran past it; answering "internal error" told the auditor nothing).
- In production graphql-core is asked to hide its suggestions ("Did you mean ...?"), which
  would otherwise spell out the schema that disabled introspection hides.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from functools import lru_cache
from typing import Any, TypeVar

import strawberry
from graphql import (
    ArgumentNode,
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    ValuesOfCorrectTypeRule,
    validate,
)
from psycopg.errors import QueryCanceled
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext

from ledger.law.values import outside_the_calendar
from projections.queries import STATEMENT_TIMEOUT_MS

log = logging.getLogger("ledger.graphql")

BAD_USER_INPUT = "BAD_USER_INPUT"
CLIENT_CODES = frozenset({BAD_USER_INPUT, "FORBIDDEN", "LIMIT_EXCEEDED",
                          "GRAPHQL_VALIDATION_FAILED"})
SERVER_FAULT = "internal error: the ledger logged it; retry, or report the time of the request"
READ_LIMIT = (f"the read ran past its limit of {STATEMENT_TIMEOUT_MS / 1000:g} s and was stopped: "
              "ask for a shorter span, a coarser granularity or fewer fields")
_SUGGESTION = re.compile(r"\s*Did you mean .*\?\s*$", re.DOTALL)
_VARIABLE = re.compile(r"^Variable '\$(\w+)'")


def bad_input(argument: str, message: str, **extensions: Any) -> GraphQLError:
    """The error a resolver raises for an argument it cannot use."""
    return GraphQLError(f"argument {argument}: {message}",
                        extensions={"code": BAD_USER_INPUT, "argument": argument, **extensions})


T = TypeVar("T")


def _parsed(value: object, parse: Callable[[str], T], what: str) -> T:
    """A scalar's input string parsed, or the ValueError graphql-core reports for it."""
    if not isinstance(value, str):
        raise ValueError(f"expected {what} as a string, not {value!r}")
    try:
        return parse(value)
    except ValueError:
        raise ValueError(f"{value!r} is not {what}") from None


def _aware(value: object) -> datetime:
    """DateTime input: ISO 8601 with its zone (Z or an offset); the ledger's times are all
    aware, and a naive one cannot be compared with them."""
    moment = _parsed(value, datetime.fromisoformat, "an ISO 8601 time")
    if moment.utcoffset() is None:
        raise ValueError(f"{value!r} has no zone: add Z or an offset such as +08:00")
    _recordable(moment.date())
    return moment


def _day(value: object) -> date:
    """Date input: YYYY-MM-DD within the days the ledger records, so no resolver computes a
    period or a term past Python's calendar."""
    return _recordable(_parsed(value, date.fromisoformat, "a date YYYY-MM-DD"))


def _recordable(day: date) -> date:
    why = outside_the_calendar(day)
    if why is not None:
        raise ValueError(why)
    return day


SCALARS: dict[object, Any] = {
    datetime: strawberry.scalar(name="DateTime", description="Date with time (isoformat)",
                                serialize=datetime.isoformat, parse_value=_aware),
    date: strawberry.scalar(name="Date", description="Date (isoformat)",
                            serialize=date.isoformat, parse_value=_day),
}  # StrawberryConfig.scalar_map: the built-in scalars' names and descriptions, stricter


class ArgumentValues(ValuesOfCorrectTypeRule):
    """graphql-core's rule that literal values fit their types, its errors marked
    BAD_USER_INPUT with the argument they were given for."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._argument: str | None = None

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        self._argument = node.name.value

    def leave_argument(self, node: ArgumentNode, *_args: Any) -> None:
        self._argument = None

    def report_error(self, error: GraphQLError) -> None:
        name = self._argument
        extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
        if name is not None:
            extensions["argument"] = name
        message = error.message if name is None else f"argument {name}: {error.message}"
        super().report_error(GraphQLError(message, error.nodes, error.source, error.positions,
                                          error.path, error.original_error, extensions))


_RULES: dict[type[ASTValidationRule], type[ASTValidationRule]] = {
    ValuesOfCorrectTypeRule: ArgumentValues}


@lru_cache(maxsize=512)
def _validated(schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule],
               ...], hide_suggestions: bool) -> list[GraphQLError]:
    return validate(schema, document, (*rules, MaybeNullValidationRule, OneOfInputValidationRule),
                    hide_suggestions=hide_suggestions)


class Validation(SchemaExtension):
    """Validation with `ArgumentValues` in place of the plain values rule, suggestions hidden
    in production, and the result cached (a full walk of the query, done once per shape)."""

    hide_suggestions = False

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        rules = tuple(_RULES.get(rule, rule) for rule in context.validation_rules)
        assert context.graphql_document is not None
        context.pre_execution_errors = _validated(context.schema._schema,
                                                  context.graphql_document, rules,
                                                  self.hide_suggestions)
        yield


class ProductionValidation(Validation):
    hide_suggestions = True


def classify(error: GraphQLError, production: bool) -> bool:
    """Mark a client's error (True) or hide a server fault's message (False)."""
    if production and _SUGGESTION.search(error.message):
        error.message = _SUGGESTION.sub("", error.message)
    variable = _VARIABLE.match(error.message)
    extensions = error.extensions if error.extensions is not None else {}
    if variable is not None and "code" not in extensions:
        error.extensions = {**extensions, "code": BAD_USER_INPUT, "argument": variable[1]}
        return True
    original = error.original_error
    return (extensions.get("code") in CLIENT_CODES or original is None
            or isinstance(original, GraphQLError))


def process(errors: list[GraphQLError], execution_context: ExecutionContext | None,
            production: bool) -> None:
    """Log each error at its level, once, and keep internals out of the answer."""
    for error in errors:
        if isinstance(error.original_error, QueryCanceled):  # the read limit, not a fault
            log.warning("graphql read stopped at the read limit at %s", error.path)
            error.message = READ_LIMIT
            error.extensions = {"code": "LIMIT_EXCEEDED", "limit": "read_seconds",
                                "max": STATEMENT_TIMEOUT_MS / 1000}
            continue
        if classify(error, production):
            log.info("graphql client error: %s", error.message)
            continue
        log.error("graphql server fault at %s: %s", error.path, error.message,
                  exc_info=error.original_error)
        error.message = SERVER_FAULT
        error.extensions = {"code": "INTERNAL_SERVER_ERROR"}
