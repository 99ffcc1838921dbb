"""Resolvers for the time-travel arguments: fold a patent's events to a date or a moment."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from projections.time_travel import patent_at

if TYPE_CHECKING:
    from api.gql.types import Ctx, Holding, Patent

MAX_PATENTS_FOLDED = 1_000  # per asOf party answer: each is a fold of its events


async def patent_on(info: Ctx, number: str, as_of: date | None,
                    as_known_at: datetime | None) -> Patent | None:
    from api.gql.types import Patent

    view = patent_at(await info.context.reads.patent_events(number), as_of, as_known_at)
    return None if view is None else Patent.from_view(info, view, as_of, as_known_at)


async def holdings_on(info: Ctx, party: str, as_of: date) -> list[Holding]:
    from graphql import GraphQLError

    from api.gql.types import Holding

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
        for owner in view.owners:
            if owner.party == party:
                held.append(Holding(number=number, share=str(owner.share), view=view,
                                    as_of=as_of))
    return held
