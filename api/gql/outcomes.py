"""GraphQL of issue 18 (domain.md s10.1-10.2): conversions, products and their reports.

`patent { conversions products }` and `party { products }` are fields of the types in
`api/gql/types.py`, resolved here; `conversions(filter, first, after)` and `product(id)` are
fields of the Query root. Patents and parties are named lazily (`strawberry.lazy`), and
resolved through `LINKS`, which types.py fills when it is imported: the GraphQL modules import
one way (types -> outcomes), never in a circle. Every read is batched (`api/gql/context.py`
loaders) or one keyset page (at most MAX_PAGE edges).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api.gql.context import Ctx
from api.gql.errors import bad_input
from api.gql.events import Event, PageInfo, evidence
from api.gql.money import Money
from api.gql.paging import decode_cursor, encode_cursor, page_size
from projections.conversion_reads import (
    ConversionFilter,
    ConversionRow,
    ProductRow,
    conversion_page,
)

if TYPE_CHECKING:
    from api.gql.types import Party, Patent

LazyPatent = Annotated["Patent", strawberry.lazy("api.gql.types")]
LazyParty = Annotated["Party", strawberry.lazy("api.gql.types")]


@dataclass(slots=True)
class Links:
    """How a patent and a party are answered (set by api/gql/types.py when it loads)."""

    patent: Callable[[Ctx, str], Awaitable[Any]] | None = None  # Patent.current
    patents: Callable[[Ctx, list[str]], Awaitable[list[Any]]] | None = None
    party: Callable[[Ctx, str], Awaitable[Any]] | None = None  # party_by_id


LINKS = Links()


@strawberry.type(description="A conversion outcome of a patent in one of Shanghai's nine "
                             "categories (domain.md s10.1), with the events that show it.")
class Conversion:
    category: str = strawberry.field(description="transferred, equity_contributed, "
                                                 "open_licensed, ordinary_licensed, "
                                                 "sole_licensed, exclusive_licensed, "
                                                 "industrialised_by_licensee, "
                                                 "industrialised_by_partner, pooled; `none` "
                                                 "in the list of patents with no conversion.")
    since: date | None = strawberry.field(description="The effective date of the first.")
    positions: strawberry.Private[tuple[int, ...]]

    @staticmethod
    def of(row: ConversionRow) -> Conversion:
        return Conversion(category=row.category, since=row.since, positions=row.evidence)

    @strawberry.field(description="The deals and reports that put the patent in this "
                                  "category, earliest first (at most 100).")
    async def evidence(self, info: Ctx) -> list[Event]:
        return await evidence(info, self.positions)


@strawberry.type
class ConversionEntry:
    number: str
    conversion: Conversion

    @strawberry.field
    async def patent(self, info: Ctx) -> LazyPatent | None:
        assert LINKS.patent is not None, "api.gql.types links patents when it loads"
        return await LINKS.patent(info, self.number)

    @strawberry.field
    def category(self) -> str:
        return self.conversion.category

    @strawberry.field
    def since(self) -> date | None:
        return self.conversion.since

    @strawberry.field(description="The first deals or reports of the category (at most 10).")
    async def evidence(self, info: Ctx) -> list[Event]:
        return await evidence(info, self.conversion.positions)


@strawberry.type
class ConversionEdge:
    cursor: str
    node: ConversionEntry


@strawberry.type
class ConversionConnection:
    edges: list[ConversionEdge]
    page_info: PageInfo


@strawberry.input(description="Which patents the conversions list shows. `category: \"none\"` "
                              "asks stock patents (in force, held now) with no conversion in "
                              "the period, their holder a current owner.")
class ConversionFilterInput:
    holder_kind: str | None = strawberry.field(default=None, description="The holder's party "
                                               "kind (university, ...): the giver of the deal.")
    region: str | None = strawberry.field(default=None, description="The holder's region "
                                          "(GB/T 2260 codes include their divisions).")
    category: str | None = None
    from_: date | None = strawberry.field(default=None, name="from")
    to: date | None = None

    def to_filter(self) -> ConversionFilter:
        return ConversionFilter(self.holder_kind, self.region, self.category, self.from_,
                                self.to)


async def conversion_connection(info: Ctx, where: ConversionFilterInput | None,
                                first: int | None, after: str | None) -> ConversionConnection:
    size = page_size(first)
    cursor = decode_cursor(after, 2)
    asked = where.to_filter() if where is not None else ConversionFilter()
    try:
        asked.check()
    except ValueError as error:  # the message starts with the argument it is about
        argument, _, message = str(error).partition(" ")
        raise bad_input(argument, message) from None
    rows = await conversion_page(info.context.reads, asked,
                                 (cursor[0], cursor[1]) if cursor else None, size + 1,
                                 info.context.today)
    edges = [ConversionEdge(cursor=encode_cursor(r.number, r.category),
                            node=ConversionEntry(number=r.number, conversion=Conversion.of(r)))
             for r in rows[:size]]
    return ConversionConnection(edges=edges, page_info=PageInfo(
        has_next_page=len(rows) > size, end_cursor=edges[-1].cursor if edges else None))


async def conversions_of_patent(info: Ctx, number: str, as_of: date | None,
                                as_known_at: datetime | None) -> list[Conversion]:
    rows = await info.context.loaders.conversions.load((number, as_of, as_known_at))
    return [Conversion.of(r) for r in rows]


# --- products ---------------------------------------------------------------------------------


@strawberry.type(description="A product's yearly report (output value and employees).")
class ProductReport:
    year: int
    output_value: Money
    employees: int
    position: int


@strawberry.type(description="A patent product filed (专利产品备案, domain.md s10.2).")
class Product:
    id: str
    name: str
    owner_id: strawberry.Private[str]
    numbers: strawberry.Private[tuple[str, ...]]
    filed_on: date
    category: str | None
    intensive: bool = strawberry.field(description="Patent-intensive (专利密集型产品).")
    reports: list[ProductReport] = strawberry.field(description="Yearly reports, by year "
                                                                "(up to asOf when asked).")
    position: int

    @staticmethod
    def of(row: ProductRow) -> Product:
        return Product(id=row.product_id, name=row.name, owner_id=row.owner,
                       numbers=row.patents, filed_on=row.filed_on, category=row.category,
                       intensive=row.intensive, position=row.position, reports=[
                           ProductReport(year=r.year, employees=r.employees, position=r.position,
                                         output_value=Money(amount=str(r.output_value),
                                                            currency=r.currency))
                           for r in row.reports])

    @strawberry.field
    async def owner(self, info: Ctx) -> LazyParty:
        assert LINKS.party is not None, "api.gql.types links parties when it loads"
        return await LINKS.party(info, self.owner_id)

    @strawberry.field(description="The patents it names (INV-17: its owner's, or licensed to "
                                  "it, on the filing date).")
    async def patents(self, info: Ctx) -> list[LazyPatent]:
        assert LINKS.patents is not None, "api.gql.types links patents when it loads"
        return await LINKS.patents(info, list(self.numbers))

    @strawberry.field(description="The filing event.")
    async def evidence(self, info: Ctx) -> list[Event]:
        return await evidence(info, (self.position,))


async def products_of(info: Ctx, by: str, key: str, as_of: date | None = None,
                      as_known_at: datetime | None = None) -> list[Product]:
    """Products by `id`, `owner` or `patent`, filed by asOf (at most 100 per key)."""
    rows = await info.context.loaders.products.load((by, key, as_of, as_known_at))
    return [Product.of(r) for r in rows]


async def product_by_id(info: Ctx, product_id: str) -> Product | None:
    found = await products_of(info, "id", product_id)
    return found[0] if found else None
