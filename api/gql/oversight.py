"""Who may read the oversight answers (anomalies, credit, listings) in GraphQL.

Its own module, below every GraphQL type, so that credit and anomalies can both ask it without
importing each other.
"""

from __future__ import annotations

from graphql import GraphQLError

from api.gql.context import Ctx
from ledger.law import audiences


def require_oversight(info: Ctx, what: str) -> None:
    """Platforms post deals; anomalies, credit and listings are for auditors and regulators
    (and admin): the roles that read the events they come from (ledger/law/audiences.py)."""
    if not audiences.may_read_oversight(info.context.role):
        raise GraphQLError(f"role {info.context.role} may not read {what}",
                           extensions={"code": "FORBIDDEN"})
