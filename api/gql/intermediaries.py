"""Issue 19 (domain.md s11.4): the intermediaries behind deals in GraphQL.

`party { arranged(first, after) }` pages the deals a party arranged (as agency, platform or
technology manager: `rm_event_intermediaries`); `deal { intermediaries }` names who arranged
a deal and, for oversight roles, any abnormal-operations listing (异常名录) of theirs in force.
"""

from __future__ import annotations

from datetime import date

import strawberry

from api.gql.context import Ctx
from api.gql.credit import listings_of
from projections.credit import in_force
from projections.queries import ARRANGING_ROLES, EventRecord

ABNORMAL = "abnormal_operations"


@strawberry.type(description="Who arranged a deal (issue 19), and whether a regulator has "
                 "them on the abnormal-operations list on the day asked.")
class Intermediary:
    role: str = strawberry.field(description="agency, platform or technology_manager.")
    party_id: str
    abnormal_operations: list[str] = strawberry.field(
        description="Ids of abnormal-operations listings in force (auditors and "
        "regulators; empty for other roles).")


async def intermediaries_of(info: Ctx, record: EventRecord, day: date) -> list[Intermediary]:
    found = []
    oversight = info.context.role in ("auditor", "regulator", "admin")
    for role in ARRANGING_ROLES:
        party = record.payload.get(role)
        if not isinstance(party, str):
            continue
        listed: list[str] = []
        if oversight:
            listed = [x.listing_id for x in await listings_of(info, party, day)
                      if x.list == ABNORMAL and in_force(x.starts_on, x.ends_on, day)]
        found.append(Intermediary(role=role, party_id=party, abnormal_operations=listed))
    return found
