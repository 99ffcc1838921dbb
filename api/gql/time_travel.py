"""The time-travel arguments: fold a patent's events to a date (asOf) or a moment (asKnownAt).

This module answers with the projections' views, not GraphQL objects: the types (types.py) and
the Query root wrap them, so imports go one way (types -> time_travel) with no circle back.
"""

from __future__ import annotations

from datetime import date, datetime

from graphql import GraphQLError

from api.gql.context import Ctx
from projections.patent_view import PatentView
from projections.time_travel import patent_at

MAX_PATENTS_FOLDED = 1_000  # per asOf party answer: each is a fold of its events


async def view_on(info: Ctx, number: str, as_of: date | None,
                  as_known_at: datetime | None) -> PatentView | None:
    """The patent as it stood on `as_of` / as the ledger knew it at `as_known_at`."""
    return patent_at(await info.context.reads.patent_events(number), as_of, as_known_at)


async def held_on(info: Ctx, party: str, as_of: date) -> list[tuple[str, str, PatentView]]:
    """(number, share, view) of each patent the party owned on `as_of`, in the order the
    read models list the patents it ever held."""
    numbers = await info.context.reads.patents_ever_held(party)
    if len(numbers) > MAX_PATENTS_FOLDED:
        raise GraphQLError(f"{party} appears on {len(numbers)} patents; holdings asOf a date "
                           f"fold at most {MAX_PATENTS_FOLDED}",
                           extensions={"code": "LIMIT_EXCEEDED"})
    held = []
    for number in numbers:
        view = patent_at(await info.context.reads.patent_events(number), as_of, None)
        if view is None:
            continue
        held += [(number, str(owner.share), view) for owner in view.owners
                 if owner.party == party]
    return held
