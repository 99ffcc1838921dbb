"""GraphQL for credit: a party's grade with its reasons, its listings, and the blacklist.

The listings are answered here as the projection's `Listing`s; the `CreditListing` type that
shows them lives in types.py beside `Party`, because each points at the other. So types.py
imports this module and this module imports no GraphQL type above it: no circle.
"""

from __future__ import annotations

from datetime import date

import strawberry

from api.gql.context import Ctx
from api.gql.events import Event, evidence
from api.gql.oversight import require_oversight
from projections.credit import Credit, Listing, Reason, grade, listed_on


@strawberry.type
class CreditReason:
    reason: strawberry.Private[Reason]
    rule: str = strawberry.field(description="INV-n, AR-n or LIST:<list>.")
    grade: str
    detail: str

    @strawberry.field
    async def evidence(self, info: Ctx) -> list[Event]:
        return await evidence(info, self.reason.evidence)


@strawberry.type(description="A to D (domain.md section 7), as of the party's asOf or today.")
class CreditGrade:
    grade: str
    reasons: list[CreditReason]

    @staticmethod
    def of(credit: Credit) -> CreditGrade:
        return CreditGrade(grade=credit.grade, reasons=[
            CreditReason(reason=r, rule=r.rule, grade=r.grade, detail=r.detail)
            for r in credit.reasons])


async def credit_of(info: Ctx, party: str, day: date) -> CreditGrade:
    require_oversight(info, "credit")
    inputs = await info.context.loaders.credit.load(party)
    return CreditGrade.of(grade(party, inputs.listings, inputs.marks, inputs.findings, day))


async def listings_of(info: Ctx, party: str, day: date) -> list[Listing]:
    """Every regulator's listing of the party that has started by `day`, in force or not.
    Risk marks (unresolved defaults, confirmed anomalies) are in `credit`, never here
    (domain.md s9)."""
    require_oversight(info, "listings")
    inputs = await info.context.loaders.credit.load(party)
    found = [x for x in inputs.listings if x.starts_on <= day]
    return sorted(found, key=lambda x: (x.starts_on, x.listing_id))


async def blacklisted(info: Ctx, party: str, day: date) -> bool:
    """On a regulator's list in force on `day`: only a listing carries consequences."""
    require_oversight(info, "listings")
    inputs = await info.context.loaders.credit.load(party)
    return bool(listed_on(inputs.listings, day))


async def blacklist(info: Ctx, day: date) -> list[Listing]:
    require_oversight(info, "the blacklist")
    listings = await info.context.reads.blacklist_inputs(day)
    return sorted(listed_on(listings, day), key=lambda x: (x.party, x.starts_on))
