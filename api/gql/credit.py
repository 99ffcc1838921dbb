"""GraphQL for credit: a party's grade with its reasons, its listings, and the blacklist."""

from __future__ import annotations

from datetime import date

import strawberry

from api.gql.anomalies import require_oversight
from api.gql.types import Ctx, Event, Party, evidence, party_by_id
from projections.credit import Credit, Listing, Reason, automatic_listings, grade


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


@strawberry.type(description="A credit listing: a regulator's, or automatic.")
class CreditListing:
    listing: strawberry.Private[Listing]
    listing_id: str
    list_name: str = strawberry.field(name="list", description="dishonest, "
                                      "serious_dishonesty, or automatic:<rule>.")
    grounds: str
    starts_on: date
    ends_on: date | None
    repair_from: date = strawberry.field(description="From this date repair may be asked.")
    automatic: bool
    consequences: list[str]

    @staticmethod
    def of(listing: Listing) -> CreditListing:
        return CreditListing(listing=listing, listing_id=listing.listing_id,
                             list_name=listing.list,
                             grounds=listing.grounds, starts_on=listing.starts_on,
                             ends_on=listing.ends_on, repair_from=listing.repair_from,
                             automatic=listing.automatic,
                             consequences=list(listing.consequences))

    @strawberry.field
    async def party(self, info: Ctx) -> Party:
        return await party_by_id(info, self.listing.party)

    @strawberry.field
    async def evidence(self, info: Ctx) -> list[Event]:
        return await evidence(info, self.listing.evidence)


async def credit_of(info: Ctx, party: str, day: date) -> CreditGrade:
    require_oversight(info, "credit")
    inputs = await info.context.loaders.credit.load(party)
    return CreditGrade.of(grade(party, inputs.listings, inputs.marks, inputs.findings, day))


async def listings_of(info: Ctx, party: str, day: date) -> list[CreditListing]:
    """Every listing of the party that has started by `day`, in force or not."""
    require_oversight(info, "listings")
    inputs = await info.context.loaders.credit.load(party)
    found = [x for x in inputs.listings if x.starts_on <= day]
    found += automatic_listings(inputs.marks, inputs.findings, day)
    return [CreditListing.of(x) for x in sorted(found, key=lambda x: (x.starts_on,
                                                                        x.listing_id))]


async def blacklisted(info: Ctx, party: str, day: date) -> bool:
    require_oversight(info, "listings")
    inputs = await info.context.loaders.credit.load(party)
    return any(x.starts_on <= day and (x.ends_on is None or day < x.ends_on)
               for x in [*inputs.listings,
                         *automatic_listings(inputs.marks, inputs.findings, day)])


async def blacklist(info: Ctx, day: date) -> list[CreditListing]:
    require_oversight(info, "the blacklist")
    listings, marks, findings = await info.context.reads.blacklist_inputs(day)
    found = listings + automatic_listings(marks, findings, day)
    return [CreditListing.of(x) for x in sorted(found, key=lambda x: (x.party, x.starts_on))]
