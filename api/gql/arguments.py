"""Every string a GraphQL query passes as an argument, checked before anything runs.

Arguments reach PostgreSQL as query parameters (`patent(number:)`, `party(id:)`,
`deal(id:)`, event filters, cursors ...): a NUL there fails the query, a lone surrogate
cannot be encoded, and a bidi override has no place in an id. So before execution this
extension walks the operation's arguments (literals in the document, and the variables they
name) and refuses a bad string with `BAD_USER_INPUT` naming the argument, as a bad REST
field is a 422 naming the field. The check is `ledger.posting.text.one_line`, the one the commands'
id types use; nothing is resolved.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

from ledger.posting.text import one_line

MAX_WALKED = 10_000  # argument values looked at per request (the token limit bounds it first)


def _arguments(selections: SelectionSetNode | None) -> Iterator[ArgumentNode]:
    if selections is None:
        return
    for selection in selections.selections:
        for directive in selection.directives or ():
            yield from directive.arguments or ()
        if isinstance(selection, FieldNode):
            yield from selection.arguments or ()
        if isinstance(selection, FieldNode | InlineFragmentNode):
            yield from _arguments(selection.selection_set)


def _document_arguments(document: DocumentNode) -> Iterator[ArgumentNode]:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            for directive in definition.directives or ():
                yield from directive.arguments or ()
            yield from _arguments(definition.selection_set)


def _strings(value: Any, path: str, variables: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, string) for every string in an argument's value, literal or variable."""
    if isinstance(value, StringValueNode):
        yield path, value.value
    elif isinstance(value, VariableNode):
        yield from _strings(variables.get(value.name.value), path, {})
    elif isinstance(value, ListValueNode):
        for index, item in enumerate(value.values):
            yield from _strings(item, f"{path}.{index}", variables)
    elif isinstance(value, ObjectValueNode):
        for member in value.fields:
            yield from _strings(member.value, f"{path}.{member.name.value}", variables)
    elif isinstance(value, ValueNode):
        return  # numbers, booleans, enums, null
    elif isinstance(value, str):
        yield path, value
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}", variables)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}", variables)


def refuse_bad_strings(document: DocumentNode, variables: Mapping[str, Any] | None) -> None:
    """Raise `GraphQLError` (BAD_USER_INPUT, naming the argument) for the first bad string."""
    walked = 0
    for argument in _document_arguments(document):
        for path, text in _strings(argument.value, argument.name.value, variables or {}):
            walked += 1
            if walked > MAX_WALKED:
                raise GraphQLError(f"more than {MAX_WALKED} argument values",
                                   extensions={"code": "BAD_USER_INPUT"})
            try:
                one_line(text)
            except ValueError as error:
                raise GraphQLError(f"argument {path}: {error}", nodes=[argument],
                                   extensions={"code": "BAD_USER_INPUT",
                                               "argument": path}) from None


class CheckedArguments(SchemaExtension):
    """Refuses hostile text in any argument before the operation executes."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            refuse_bad_strings(context.graphql_document, context.variables)
        yield
