"""GraphQL types over the read models. Every state answer can show its `evidence` events.

A `Patent` is either the register now (rows of the read models, loaded lazily and batched) or
the register at `asOf`/`asKnownAt` (folded from its events); both present the same views.

The types here point at one another (a party's holdings name patents, a patent's owners name
parties, a credit listing names its party), so they are built in one module; what they fold or
grade comes from the modules below (time_travel, credit), which import none of them back.
"""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from api.gql.context import Ctx
from api.gql.credit import CreditGrade, blacklisted, credit_of, listings_of
from api.gql.events import Event, EventConnection, PageInfo, event_connection, evidence
from api.gql.health import Verification, latest_checkpoint, latest_verification
from api.gql.money import Fee, Money
from api.gql.outcomes import LINKS, Conversion, Product, conversions_of_patent, products_of
from api.gql.paging import LICENCE_PAGE, encode_cursor, keyed_cursor, number_page, page_size
from api.gql.pools import (  # issue 18 (pools)
    PartyQualification,
    PoolMembership,
    ipc_of_patent,
    pools_of_patent,
    qualifications_of_party,
    size_of_party,
)
from api.gql.proofs import SignedCheckpoint
from api.gql.time_travel import held_on
from projections.credit import Listing
from projections.licence_pages import (
    LicenceCount,
    LicencePage,
    count_of,
    in_force_on,
    order_key,
    page_of,
)
from projections.patent_view import (
    LicenceView,
    OpenLicenceView,
    PatentHead,
    PatentView,
    PledgeView,
)
from projections.queries import EventFilter, PartyRow


@strawberry.type
class Party:
    id: str
    name: str
    kind: str
    size: str | None
    region: str | None
    state_owned: bool | None
    founded_on: date | None
    related_to: list[str]
    as_of: strawberry.Private[date | None] = None

    @staticmethod
    def of(row: PartyRow, as_of: date | None = None) -> Party:
        return Party(id=row.id, name=row.name, kind=row.kind, size=row.size, region=row.region,
                     state_owned=row.state_owned, founded_on=row.founded_on,
                     related_to=list(row.related_to), as_of=as_of)

    @strawberry.field(description=(
        "Patents the party owns (on `asOf` when the party was asked for on a date), with its "
        "share, in number order. With `first` (1 to 100) a page: at most `first` holdings "
        "after the one whose `cursor` is `after` (the console pages them); without it, all."))
    async def holdings(self, info: Ctx, first: int | None = None, after: str | None = None
                       ) -> list[Holding]:
        if self.as_of is None:
            held = await info.context.loaders.holdings.load(self.id)
            holdings = [Holding(number=n, share=str(s)) for n, s in held]
        else:
            holdings = [Holding(number=number, share=share, view=view, as_of=self.as_of)
                        for number, share, view in await held_on(info, self.id, self.as_of)]
        return number_page(holdings, lambda x: x.number, first, after)

    @strawberry.field
    async def history(self, info: Ctx, first: int | None = None, after: str | None = None,
                      kinds: list[str] | None = None) -> EventConnection:
        where = EventFilter(party=self.id, kinds=tuple(kinds or ()), effective_to=self.as_of)
        return await event_connection(info, where, first, after)

    @strawberry.field(description="Issue 19: the deals the party arranged, as agency, "
                      "platform or technology manager, in log order (by asOf when asked).")
    async def arranged(self, info: Ctx, first: int | None = None, after: str | None = None
                       ) -> EventConnection:
        where = EventFilter(arranged_by=self.id, effective_to=self.as_of)
        return await event_connection(info, where, first, after)

    @strawberry.field(description="Grade A-D on asOf (else today) with its reasons "
                                  "(auditors and regulators).")
    async def credit(self, info: Ctx) -> CreditGrade:
        return await credit_of(info, self.id, self.as_of or info.context.today)

    # --- issue 18 (outcomes) ----------------------------------------------------------------

    @strawberry.field(description="Patent products the party filed (by asOf when asked), at "
                                  "most 100.")
    async def products(self, info: Ctx) -> list[Product]:
        return await products_of(info, "owner", self.id, self.as_of)

    # --- end issue 18 (outcomes) ------------------------------------------------------------

    @strawberry.field(description="Regulators' listings started by asOf (else today). "
                                  "Risk marks (unresolved defaults, confirmed anomalies) "
                                  "lower `credit` and list nobody (domain.md s9).")
    async def listings(self, info: Ctx) -> list[CreditListing]:
        found = await listings_of(info, self.id, self.as_of or info.context.today)
        return [CreditListing.of(x) for x in found]

    @strawberry.field(description="On a regulator's list in force on asOf (else today).")
    async def blacklisted(self, info: Ctx) -> bool:
        return await blacklisted(info, self.id, self.as_of or info.context.today)

    # --- issue 18 (pools) -------------------------------------------------------------------

    @strawberry.field(description="Qualifications in force on asOf (else today); all: "
                                  "every one recorded, past and future too.")
    async def qualifications(self, info: Ctx, all: bool = False) -> list[PartyQualification]:
        day = None if all else self.as_of or info.context.today
        return await qualifications_of_party(info, self.id, day)

    @strawberry.field(description="The size class on asOf (else today), after any size "
                                  "change; `size` is the size registered.")
    async def size_on(self, info: Ctx) -> str | None:
        return await size_of_party(info, self.id, self.size, self.as_of or info.context.today)

    # --- end issue 18 (pools) ---------------------------------------------------------------


@strawberry.type(description="A regulator's credit listing (PartyListed), with its "
                 "consequences.")
class CreditListing:
    """Here rather than in credit.py: it names its `Party`, and `Party` lists it."""

    listing: strawberry.Private[Listing]
    listing_id: str
    list_name: str = strawberry.field(name="list", description="dishonest or "
                                      "serious_dishonesty.")
    grounds: str
    starts_on: date
    ends_on: date | None
    repair_from: date = strawberry.field(description="From this date repair may be asked.")
    automatic: bool = strawberry.field(description="Always false: only a regulator lists a "
                                       "party (domain.md s9). Kept for existing clients.")
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


async def party_by_id(info: Ctx, party_id: str, as_of: date | None = None) -> Party:
    return (await parties_by_id(info, [party_id], as_of))[0]


async def parties_by_id(info: Ctx, party_ids: list[str], as_of: date | None = None
                        ) -> list[Party]:
    rows = await info.context.loaders.party.load_many(party_ids)
    # Every party a patent names was registered: when the index lags, say so.
    return [Party.of(row if row is not None else
                     PartyRow(pid, "", "unknown", None, None, None, None, (), 0), as_of)
            for pid, row in zip(party_ids, rows, strict=True)]


@strawberry.type
class Holding:
    number: strawberry.Private[str]
    share: str
    view: strawberry.Private[PatentView | None] = None
    as_of: strawberry.Private[date | None] = None

    @strawberry.field(description="Pass as `after` for the holdings that follow this one.")
    def cursor(self) -> str:
        return encode_cursor(self.number)

    @strawberry.field
    async def patent(self, info: Ctx) -> Patent | None:
        if self.view is not None:
            return Patent.from_view(info, self.view, self.as_of, None)
        return await Patent.current(info, self.number)


@strawberry.type
class Ownership:
    party_id: strawberry.Private[str]
    share: str
    positions: strawberry.Private[tuple[int, ...]]

    @strawberry.field
    async def party(self, info: Ctx) -> Party:
        return await party_by_id(info, self.party_id)

    @strawberry.field(description="The event that made this the owner set.")
    async def evidence(self, info: Ctx) -> list[Event]:
        return await evidence(info, self.positions)


@strawberry.type
class Licence:
    view: strawberry.Private[LicenceView]
    deal_id: str
    licence_kind: str
    territory: str
    field: str
    starts_on: date
    ends_on: date
    sublicensable: bool
    parent_licence: str | None
    open_licence: bool = strawberry.field(
        description="Taken up under an open licence (Patent Law Art. 50-51).")
    terminated_on: date | None
    in_force: bool = strawberry.field(description="In force on the answer's date "
                                                  "(asOf, else today).")

    # Parties are plain fields, looked up for the whole list at once: a popular patent has a
    # hundred licences, and a resolver per licensee cost more than the rest of the answer.
    licensee: Party
    licensors: list[Party]

    @strawberry.field
    def fee(self) -> Fee:
        return Fee.of(self.view.fee)  # made when asked: most lists of licences do not

    @strawberry.field(description="Pass as `after` for the licences that follow this one in "
                                  "the list.")
    def cursor(self) -> str:
        return encode_cursor(*order_key(self.view))  # made when asked, as `fee`

    @staticmethod
    def of(view: LicenceView, day: date, parties: dict[str, Party]) -> Licence:
        return Licence(view=view, deal_id=view.deal_id, licence_kind=view.licence_kind,
                       territory=view.territory, field=view.field, starts_on=view.starts_on,
                       ends_on=view.ends_on,
                       sublicensable=view.sublicensable, parent_licence=view.parent_licence,
                       open_licence=view.open_licence, terminated_on=view.terminated_on,
                       in_force=in_force_on(view, day),
                       licensee=parties[view.licensee],
                       licensors=[parties[p] for p in view.licensors])

    @strawberry.field
    async def evidence(self, info: Ctx) -> list[Event]:
        return await evidence(info, self.view.positions)


@strawberry.type
class OpenLicence:
    view: strawberry.Private[OpenLicenceView]
    patent: strawberry.Private[Patent]

    @strawberry.field
    def deal_id(self) -> str:
        return self.view.deal_id

    @strawberry.field
    def fee(self) -> Fee:
        return Fee.of(self.view.fee)

    @strawberry.field
    def starts_on(self) -> date:
        return self.view.starts_on

    @strawberry.field
    def ends_on(self) -> date:
        return self.view.ends_on

    @strawberry.field
    def withdrawn_on(self) -> date | None:
        return self.view.withdrawn_on

    @strawberry.field(description="Licences taken up under this declaration, paged as "
                                  "`patent { licences }` is.")
    async def take_ups(self, info: Ctx, first: int | None = LICENCE_PAGE,
                       after: str | None = None) -> list[Licence]:
        return await self.patent.licence_page(info, LicencePage(
            self.patent.head.number, self.patent.day, None, keyed_cursor(after),
            page_size(first, LICENCE_PAGE), open_only=True))

    @strawberry.field
    async def evidence(self, info: Ctx) -> list[Event]:
        return await evidence(info, self.view.positions)


@strawberry.type
class Pledge:
    view: strawberry.Private[PledgeView]
    number: strawberry.Private[str]
    deal_id: str
    status: str = strawberry.field(
        description="active, defaulted, released, disposed or collateral_lost.")
    secured_amount: Money | None = strawberry.field(
        description="None when the record did not disclose it (a foreign office's record).")
    due_on: date | None
    registered_on: date
    defaulted_on: date | None
    outstanding: Money | None
    ended_on: date | None

    @staticmethod
    def of(view: PledgeView, number: str) -> Pledge:
        return Pledge(view=view, number=number, deal_id=view.deal_id, status=view.status,
                      secured_amount=Money.of(view.secured_amount), due_on=view.due_on,
                      registered_on=view.registered_on, defaulted_on=view.defaulted_on,
                      outstanding=Money.of(view.outstanding), ended_on=view.ended_on)

    @strawberry.field
    async def pledgee(self, info: Ctx) -> Party:
        return await party_by_id(info, self.view.pledgee)

    @strawberry.field
    async def pledgors(self, info: Ctx) -> list[Party]:
        return [await party_by_id(info, p) for p in self.view.pledgors]

    @strawberry.field
    async def patent(self, info: Ctx) -> Patent | None:
        return await Patent.current(info, self.number)

    @strawberry.field
    async def evidence(self, info: Ctx) -> list[Event]:
        return await evidence(info, self.view.positions)


@strawberry.type
class PledgeEdge:
    cursor: str
    node: Pledge


@strawberry.type
class PledgeConnection:
    edges: list[PledgeEdge]
    page_info: PageInfo


def current_pledge(pledges: list[PledgeView]) -> PledgeView | None:
    """The pledge that binds the patent; if none does, the latest one (to show how it ended)."""
    for pledge in pledges:
        if pledge.status in ("active", "defaulted"):
            return pledge
    return max(pledges, key=lambda p: p.position, default=None)


@strawberry.type
class Patent:
    head: strawberry.Private[PatentHead]
    view: strawberry.Private[PatentView | None]  # set when answering asOf/asKnownAt
    as_of: strawberry.Private[date | None]
    as_known_at: strawberry.Private[datetime | None]
    day: strawberry.Private[date]  # asOf, else today
    number: str
    kind: str
    title: str
    status: str = strawberry.field(
        description="On asOf (else today): expired once the term has run out.")
    preserved: bool
    dispute_suspended: bool
    filed_on: date
    granted_on: date | None = strawberry.field(
        description="None while the patent is an application (status pending).")
    expires_on: date = strawberry.field(
        description="The last day of the term, moved by any term compensation (Art. 42).")
    invalidation_pending: bool = strawberry.field(
        description="A request for invalidation awaits its decision (Art. 45-46): a pledge "
                    "is refused (INV-4) unless the parties acknowledge it.")

    @staticmethod
    def of(info: Ctx, head: PatentHead, view: PatentView | None = None,
           as_of: date | None = None, as_known_at: datetime | None = None) -> Patent:
        day = as_of or info.context.today
        return Patent(head=head, view=view, as_of=as_of, as_known_at=as_known_at, day=day,
                      number=head.number, kind=head.kind, title=head.title,
                      status=head.status_on(day), preserved=head.preserved,
                      dispute_suspended=head.dispute_suspended, filed_on=head.filed_on,
                      granted_on=head.granted_on, expires_on=head.expires_on,
                      invalidation_pending=head.invalidation_pending)

    @staticmethod
    async def current(info: Ctx, number: str) -> Patent | None:
        head = await info.context.loaders.patent.load(number)
        return None if head is None else Patent.of(info, head)

    @staticmethod
    def from_view(info: Ctx, view: PatentView, as_of: date | None,
                  as_known_at: datetime | None) -> Patent:
        return Patent.of(info, view.head, view, as_of, as_known_at)

    # --- issue 18 (outcomes) ----------------------------------------------------------------

    @strawberry.field(description="Conversion outcomes by category (domain.md s10.1), each "
                                  "since its first deal or report, on asOf / asKnownAt.")
    async def conversions(self, info: Ctx) -> list[Conversion]:
        return await conversions_of_patent(info, self.number, self.as_of, self.as_known_at)

    @strawberry.field(description="Patent products that name this patent (filed by asOf), "
                                  "at most 100.")
    async def products(self, info: Ctx) -> list[Product]:
        return await products_of(info, "patent", self.number, self.as_of, self.as_known_at)

    # --- end issue 18 (outcomes) ------------------------------------------------------------

    @strawberry.field
    async def owners(self, info: Ctx) -> list[Ownership]:
        owners = (self.view.owners if self.view is not None
                  else await info.context.loaders.owners.load(self.head.number))
        return [Ownership(party_id=o.party, share=str(o.share), positions=o.positions)
                for o in owners]

    @strawberry.field(description=(
        "Licences recorded on the patent (by asOf / asKnownAt when asked), in the order they "
        "were recorded: at most `first` (1 to 100) of them, after the licence whose `cursor` "
        "is `after`. inForce: true lists only those in force on the answer's date (asOf, else "
        "today), false only those not. A page shorter than `first` is the last; "
        "`licenceCount` counts the whole list."))
    async def licences(self, info: Ctx, in_force: bool | None = None,
                       first: int | None = LICENCE_PAGE, after: str | None = None
                       ) -> list[Licence]:
        return await self.licence_page(info, LicencePage(
            self.head.number, self.day, in_force, keyed_cursor(after),
            page_size(first, LICENCE_PAGE)))

    @strawberry.field(description=(
        "How many licences `licences` lists over all its pages, given the same inForce: "
        "without it every licence recorded (in force or not), with it those in force (true) "
        "or not (false) on the answer's date."))
    async def licence_count(self, info: Ctx, in_force: bool | None = None) -> int:
        asked = LicenceCount(self.head.number, self.day, in_force)
        if self.view is not None:
            return count_of(self.view.licences, asked)
        count: int = await info.context.loaders.licence_count.load(asked)
        return count

    async def licence_page(self, info: Ctx, asked: LicencePage) -> list[Licence]:
        """A page of licences: by PostgreSQL for the register now, from the fold on a date;
        their licensees and licensors looked up at once."""
        licences = (page_of(self.view.licences, asked) if self.view is not None
                    else await info.context.loaders.licences.load(asked))
        named = sorted({p for lic in licences for p in (lic.licensee, *lic.licensors)})
        parties = dict(zip(named, await parties_by_id(info, named), strict=True))
        return [Licence.of(lic, self.day, parties) for lic in licences]

    @strawberry.field
    async def open_licence(self, info: Ctx) -> OpenLicence | None:
        declared = (self.view.open_licence if self.view is not None
                    else await info.context.loaders.open_licence.load(self.head.number))
        return None if declared is None else OpenLicence(view=declared, patent=self)

    async def _pledges(self, info: Ctx) -> list[PledgeView]:
        if self.view is not None:
            return list(self.view.pledges)
        return await info.context.loaders.pledges.load(self.head.number)

    @strawberry.field(description="The pledge that binds the patent, else the latest one.")
    async def pledge(self, info: Ctx) -> Pledge | None:
        chosen = current_pledge(await self._pledges(info))
        return None if chosen is None else Pledge.of(chosen, self.head.number)

    @strawberry.field
    async def pledges(self, info: Ctx) -> list[Pledge]:
        return [Pledge.of(p, self.head.number) for p in await self._pledges(info)]

    # --- issue 18 (pools) -------------------------------------------------------------------

    @strawberry.field(description="The pools the patent is in on asOf (else today), each "
                                  "with its entry (the evidence).")
    async def pools(self, info: Ctx) -> list[PoolMembership]:
        return await pools_of_patent(info, self.head.number, self.day)

    @strawberry.field(description="IPC symbols on asOf (else today): the latest "
                                  "classification by then.")
    async def ipc(self, info: Ctx) -> list[str]:
        return await ipc_of_patent(info, self.head.number, self.day)

    # --- end issue 18 (pools) ---------------------------------------------------------------

    @strawberry.field(description="The patent's events in log order: the evidence for its "
                                  "state (on asOf / as known at asKnownAt when asked).")
    async def history(self, info: Ctx, first: int | None = None, after: str | None = None,
                      kinds: list[str] | None = None) -> EventConnection:
        where = EventFilter(patent=self.head.number, kinds=tuple(kinds or ()),
                            effective_to=self.as_of, recorded_to=self.as_known_at)
        return await event_connection(info, where, first, after)


@strawberry.type
class PatentEdge:
    cursor: str
    node: Patent


@strawberry.type
class PatentConnection:
    edges: list[PatentEdge]
    page_info: PageInfo


@strawberry.type
class ProjectionStatus:
    name: str
    position: int
    lag: int
    generation: int
    updated_at: datetime
    error: str | None = strawberry.field(
        default=None, description="Why the projection stopped (and /healthz answers 503 "
        "degraded): the event it cannot apply, and the error. Null while it follows the log.")


@strawberry.type
class Ledger:
    position: int
    projections: list[ProjectionStatus]

    @strawberry.field(description="The latest checkpoint signed with the ledger's key; null "
                                  "before the first.")
    async def checkpoint(self, info: Ctx) -> SignedCheckpoint | None:
        return await info.context.reads.run(latest_checkpoint)

    @strawberry.field(description="The latest run of `patent-ledger verify`; null if it never "
                                  "ran on this database.")
    async def verification(self, info: Ctx) -> Verification | None:
        return await info.context.reads.run(latest_verification)

    @strawberry.field(description="How many events the server that answered this read is "
                      "behind the primary's log: the primary's head minus `position` (the head "
                      "this server has replayed). 0 when the primary answered; read replicas "
                      "are set by LEDGER_READ_DATABASE_URL (issue 21).")
    async def replica_lag(self, info: Ctx) -> int:
        return await info.context.replica_lag(self.position)


# --- issue 18 (outcomes): how api/gql/outcomes.py answers the patents and parties it names ---


async def _patents_by_number(info: Ctx, numbers: list[str]) -> list[Patent]:
    heads = await info.context.loaders.patent.load_many(numbers)
    return [Patent.of(info, h) for h in heads if h is not None]


LINKS.patent, LINKS.patents, LINKS.party = Patent.current, _patents_by_number, party_by_id
