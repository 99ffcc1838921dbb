"""The Query root and the schema, built once with its limits (architecture.md s2).

The depth, alias and token limits are validation rules created here, once: a per-request
factory would defeat graphql-core's validation cache. Production turns introspection off.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from api.gql.anomalies import (
    ORDER_DESCRIPTION,
    AnomalyConnection,
    AnomalyFilterInput,
    anomaly_connection,
)
from api.gql.arguments import CheckedArguments
from api.gql.context import Released
from api.gql.credit import blacklist
from api.gql.deals import Deal
from api.gql.errors import SCALARS, ProductionValidation, Validation, process
from api.gql.events import (
    EventConnection,
    EventFilterInput,
    event_connection,
    readable_events,
)
from api.gql.indicators import Indicator, Programme, indicators, programme_list
from api.gql.outcomes import (  # issue 18 (outcomes)
    ConversionConnection,
    ConversionFilterInput,
    Product,
    conversion_connection,
    product_by_id,
)
from api.gql.paging import decode_cursor, encode_cursor, page_size
from api.gql.pools import Pool, pool_by_id  # issue 18 (pools)
from api.gql.time_travel import view_on
from api.gql.types import (
    CreditListing,
    Ctx,
    Ledger,
    PageInfo,
    Party,
    Patent,
    PatentConnection,
    PatentEdge,
    Pledge,
    PledgeConnection,
    PledgeEdge,
    ProjectionStatus,
    party_by_id,
)
from projections.queries import EventFilter

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2_000


@strawberry.type
class Query:
    @strawberry.field(description="A patent now, on an effective date (asOf), or as the "
                                  "ledger knew it at a moment (asKnownAt).")
    async def patent(self, info: Ctx, number: str, as_of: date | None = None,
                     as_known_at: datetime | None = None) -> Patent | None:
        if as_of is None and as_known_at is None:
            return await Patent.current(info, number)
        view = await view_on(info, number, as_of, as_known_at)
        return None if view is None else Patent.from_view(info, view, as_of, as_known_at)

    @strawberry.field(description="Patents in number order, optionally those a party owns.")
    async def patents(self, info: Ctx, first: int | None = None, after: str | None = None,
                      owner: str | None = None) -> PatentConnection:
        size = page_size(first)
        cursor = decode_cursor(after, 1)
        numbers = await info.context.reads.patent_page(owner, cursor[0] if cursor else None,
                                                       size + 1)
        heads = await info.context.loaders.patent.load_many(numbers[:size])
        edges = [PatentEdge(cursor=encode_cursor(h.number), node=Patent.of(info, h))
                 for h in heads if h is not None]
        return PatentConnection(edges=edges, page_info=PageInfo(
            has_next_page=len(numbers) > size, end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field
    async def party(self, info: Ctx, id: str, as_of: date | None = None) -> Party | None:
        row = await info.context.loaders.party.load(id)
        return None if row is None else await party_by_id(info, id, as_of)

    @strawberry.field(description="The event log, filtered, in log order.")
    async def events(self, info: Ctx, filter: EventFilterInput | None = None,
                     first: int | None = None, after: str | None = None) -> EventConnection:
        where = filter.to_filter() if filter is not None else EventFilter()
        return await event_connection(info, where, first, after)

    @strawberry.field
    async def deal(self, info: Ctx, id: str) -> Deal | None:
        records = await readable_events(info, EventFilter(deal_id=id), 0, 1)
        return Deal(record=records[0]) if records else None

    @strawberry.field(description="Pledges in registration order.")
    async def pledges(self, info: Ctx, status: str | None = None, pledgee: str | None = None,
                      first: int | None = None, after: str | None = None) -> PledgeConnection:
        size = page_size(first)
        cursor = decode_cursor(after, 2)
        key = (int(cursor[0]), cursor[1]) if cursor and cursor[0].isdigit() else None
        found = await info.context.reads.pledge_page(status, pledgee, key, size + 1)
        edges = [PledgeEdge(cursor=encode_cursor(view.position, number),
                            node=Pledge.of(view, number))
                 for number, view in found[:size]]
        return PledgeConnection(edges=edges, page_info=PageInfo(
            has_next_page=len(found) > size, end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field(description="Flags raised by the anomaly rules, newest evidence last "
                                  "unless `order` says otherwise (auditors and regulators).")
    async def anomalies(self, info: Ctx, filter: AnomalyFilterInput | None = None,
                        first: int | None = None, after: str | None = None,
                        order: Annotated[str, strawberry.argument(
                            description=ORDER_DESCRIPTION)] = "log",
                        ) -> AnomalyConnection:
        return await anomaly_connection(info, filter, first, after, order)

    @strawberry.field(description="Parties on a regulator's credit list on asOf (else "
                                  "today); risk marks list nobody (domain.md s9).")
    async def blacklist(self, info: Ctx, as_of: date | None = None) -> list[CreditListing]:
        return [CreditListing.of(x) for x in await blacklist(info, as_of or info.context.today)]

    @strawberry.field(description="K1..K12 by period, region (GB/T 2260 codes include "
                                  "their divisions) and recipient kind; flagged deals left out "
                                  "unless excludeFlagged is false (roles that may not read "
                                  "anomalies always count them). With a programme, K7 rows "
                                  "give each target's progress from the programme's start.")
    async def indicators(
        self, info: Ctx,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date, granularity: str = "quarter", region: str | None = None,
        recipient_kind: str | None = None, exclude_flagged: bool = True,
        as_known_at: datetime | None = None, programme: str | None = None,
        ipc_section: str | None = None, qualification: str | None = None,
    ) -> list[Indicator]:
        return await indicators(info, from_, to, granularity, region, recipient_kind,
                                exclude_flagged, as_known_at, programme, ipc_section,
                                qualification)

    @strawberry.field(description="The programmes and their targets (config/programmes.toml); "
                                  "with a region, those whose targets apply there.")
    def programmes(self, region: str | None = None) -> list[Programme]:
        return programme_list(region)

    @strawberry.field(description="A patent pool on asOf (else today): its patents and "
                                  "pool licences (issue 18).")
    async def pool(self, info: Ctx, id: str, as_of: date | None = None) -> Pool | None:
        return await pool_by_id(info, id, as_of)
    # --- issue 18 (outcomes) ----------------------------------------------------------------

    @strawberry.field(description="Patents by conversion category (domain.md s10.1), in "
                                  "(number, category) order; category \"none\": stock "
                                  "patents with no conversion in the period.")
    async def conversions(self, info: Ctx, filter: ConversionFilterInput | None = None,
                          first: int | None = None, after: str | None = None
                          ) -> ConversionConnection:
        return await conversion_connection(info, filter, first, after)

    @strawberry.field(description="A patent product filed (domain.md s10.2), with its reports.")
    async def product(self, info: Ctx, id: str) -> Product | None:
        return await product_by_id(info, id)

    # --- end issue 18 (outcomes) ------------------------------------------------------------

    @strawberry.field(description="The log's head and how far each projection has followed.")
    async def ledger(self, info: Ctx) -> Ledger:
        head = await info.context.reads.head()
        standings = await info.context.reads.standings()
        return Ledger(position=head, projections=[
            ProjectionStatus(name=s.name, position=s.position, lag=max(head - s.position, 0),
                             generation=s.generation, updated_at=s.updated_at, error=s.error)
            for s in standings])


# The rule classes are made once, here: strawberry builds an extension per request, and a
# limiter constructed per request would make new rule classes each time, so graphql-core's
# validation cache (keyed by the rules) would never hit.
_LIMIT_RULES = [*QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
                *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules]
_PRODUCTION_RULES = [*_LIMIT_RULES, *DisableIntrospection().validation_rules]


class Limits(AddValidationRules):
    def __init__(self) -> None:
        super().__init__(_LIMIT_RULES)


class ProductionLimits(AddValidationRules):
    """The limits, and no introspection."""

    def __init__(self) -> None:
        super().__init__(_PRODUCTION_RULES)


class TokenLimit(MaxTokensLimiter):
    def __init__(self) -> None:
        super().__init__(max_token_count=MAX_TOKENS)


CACHED_DOCUMENTS = 512  # parsed and validated queries kept (clients repeat a few shapes)


class Parsed(ParserCache):
    def __init__(self) -> None:
        super().__init__(maxsize=CACHED_DOCUMENTS)


class LedgerSchema(strawberry.Schema):
    """The schema, with errors sorted into clients' and ours (api/gql/errors.py) and, in
    production, graphql-core's suggestions hidden when it coerces variables too."""

    production = False

    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        process(errors, execution_context, self.production)

    def _get_custom_context_kwargs(self, operation_extensions: dict[str, Any] | None = None,
                                   *, sync: bool = False) -> dict[str, Any]:
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        if self.production:
            kwargs["hide_suggestions"] = True
        return kwargs


class ProductionSchema(LedgerSchema):
    production = True


def build_schema(*, production: bool) -> strawberry.Schema:
    limits = ProductionLimits if production else Limits
    validation = ProductionValidation if production else Validation
    schema_class = ProductionSchema if production else LedgerSchema
    return schema_class(query=Query, extensions=[limits, TokenLimit, Parsed, validation,
                                                  CheckedArguments, Released],
                        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS))


def schema_sdl() -> str:
    """The schema in SDL, as checked in at `schema.graphql` (a test keeps them equal)."""
    return build_schema(production=False).as_str() + "\n"


if __name__ == "__main__":  # python -m api.gql.schema > schema.graphql
    print(schema_sdl(), end="")
