"""Reads of issue 18 (outcomes): a patent's conversions, the conversions list, products.

Conversions are read from the audit projection's deal facts (`rm_deal_facts`, found by patent
through `rm_event_patents`), categorised by `projections/conversion_sql.py`; products from
the "products" projection. Every read is one statement over a batch of keys (DataLoaders in
`api/gql/context.py`) or one keyset page; all run on the read pool (`ReadModels.run`), so
they share its statement timeout and are counted with its queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from ledger.law.outcomes import CONVERSIONS, NO_CONVERSION
from projections import regions
from projections.conversion_sql import CATEGORY_SQL, CONVERSION_KINDS
from projections.product_sql import K12_QUERY
from projections.queries import ReadModels

MAX_EVIDENCE = 100  # evidence events shown per category of one patent (the earliest)
LIST_EVIDENCE = 10  # ... per edge of the conversions list
MAX_PRODUCTS_SHOWN = 100  # products shown of one patent or party
DEAD = ("lapsed", "expired", "invalidated")
_FAR_PAST, _FAR_FUTURE = date(1, 1, 1), date(9999, 12, 31)


@dataclass(frozen=True, slots=True)
class ConversionRow:
    number: str
    category: str
    since: date | None  # None: "none", the absence of any conversion
    evidence: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ConversionFilter:
    holder_kind: str | None = None
    region: str | None = None
    category: str | None = None  # one of CONVERSIONS, or NO_CONVERSION
    low: date | None = None
    high: date | None = None

    def check(self) -> None:
        """ValueError starting with the argument's name, for a clear BAD_USER_INPUT."""
        if self.category is not None and self.category not in (*CONVERSIONS, NO_CONVERSION):
            raise ValueError(f"category must be one of {', '.join(CONVERSIONS)} or "
                             f"{NO_CONVERSION}, not {self.category!r}")
        if self.region is not None:
            regions.check(self.region)
        if self.low is not None and self.high is not None and self.high < self.low:
            raise ValueError("from must not be after to")


@dataclass(frozen=True, slots=True)
class ProductRow:
    product_id: str
    name: str
    owner: str
    patents: tuple[str, ...]
    filed_on: date
    category: str | None
    intensive: bool
    position: int
    reports: list[ReportRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReportRow:
    year: int
    output_value: Decimal
    currency: str
    employees: int
    position: int


async def _fetch(reads: ReadModels, query: str, params: dict[str, Any]
                 ) -> list[dict[str, Any]]:
    async def read(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchall()

    return await reads.run(read)


# --- a patent's conversions -------------------------------------------------------------------

_OF_PATENTS = f"""
SELECT x.number, f.position, f.effective_on, {CATEGORY_SQL} AS category
FROM rm_event_patents x JOIN rm_deal_facts f ON f.position = x.position
WHERE x.number = ANY(%(numbers)s) AND f.kind = ANY(%(kinds)s)
  AND f.effective_on <= %(day)s AND (%(known_at)s::timestamptz IS NULL OR f.recorded_at <= %(known_at)s)
ORDER BY x.number, f.effective_on, f.position
"""


async def conversions_of(reads: ReadModels, numbers: Sequence[str], day: date | None,
                         known_at: datetime | None) -> dict[str, list[ConversionRow]]:
    """Each patent's conversions by category (Shanghai's order), as of `day` (effective) and
    as known at `known_at`: since the first one, its earliest MAX_EVIDENCE events."""
    rows = await _fetch(reads, _OF_PATENTS, {
        "numbers": list(numbers), "kinds": list(CONVERSION_KINDS),
        "day": day or _FAR_FUTURE, "known_at": known_at})
    found: dict[str, dict[str, tuple[date, list[int]]]] = defaultdict(dict)
    for r in rows:
        if r["category"] is None:
            continue
        _, evidence = found[r["number"]].setdefault(r["category"], (r["effective_on"], []))
        if len(evidence) < MAX_EVIDENCE:
            evidence.append(r["position"])
    order = {c: i for i, c in enumerate(CONVERSIONS)}
    return {number: [ConversionRow(number, c, since, tuple(evidence))
                     for c, (since, evidence) in sorted(by.items(), key=lambda i: order[i[0]])]
            for number, by in found.items()}


# --- the conversions list ---------------------------------------------------------------------

_PAGE = f"""
WITH facts AS (
    SELECT patents, givers, g_kind, effective_on, position, {CATEGORY_SQL} AS category
    FROM rm_deal_facts
    WHERE kind = ANY(%(kinds)s) AND effective_on BETWEEN %(low)s AND %(high)s
), hits AS (
    SELECT p AS number, f.category, f.effective_on, f.position
    FROM facts f
    LEFT JOIN rm_parties g ON g.id = f.givers[1]
    CROSS JOIN LATERAL unnest(f.patents) AS p
    WHERE f.category IS NOT NULL
      AND (%(category)s::text IS NULL OR f.category = %(category)s)
      AND (%(holder_kind)s::text IS NULL OR f.g_kind = %(holder_kind)s)
      AND (%(region)s::text IS NULL OR {regions.sql_match("g.region")})
)
SELECT number, category, min(effective_on) AS since,
       (array_agg(position ORDER BY effective_on, position))[1:{LIST_EVIDENCE}] AS evidence
FROM hits
WHERE (number, category) > (%(after_number)s, %(after_category)s)
GROUP BY number, category
ORDER BY number, category
LIMIT %(limit)s
"""

# Stock patents (in force today, held now) with no conversion in the period: the holder is a
# current owner (rm_owners), its kind and region those registered.
_NONE = f"""
SELECT o.number, NULL::date AS since, ARRAY[]::bigint[] AS evidence
FROM rm_owners o
JOIN rm_parties h ON h.id = o.party
JOIN rm_patents t ON t.number = o.number
WHERE (%(holder_kind)s::text IS NULL OR h.kind = %(holder_kind)s)
  AND (%(region)s::text IS NULL OR {regions.sql_match("h.region")})
  AND t.status <> ALL(%(dead)s) AND t.expires_on >= %(today)s
  AND o.number > %(after_number)s
  AND NOT EXISTS (
      SELECT 1 FROM rm_event_patents x JOIN rm_deal_facts f ON f.position = x.position
      WHERE x.number = o.number AND f.kind = ANY(%(kinds)s)
        AND f.effective_on BETWEEN %(low)s AND %(high)s AND {CATEGORY_SQL} IS NOT NULL)
GROUP BY o.number, t.number
ORDER BY o.number
LIMIT %(limit)s
"""


async def conversion_page(reads: ReadModels, where: ConversionFilter,
                          after: tuple[str, str] | None, limit: int, today: date
                          ) -> list[ConversionRow]:
    """Patents by category in (number, category) order, from the key `after`. With category
    `none`: stock patents whose holder matches and that had no conversion in the period."""
    params: dict[str, Any] = {
        "kinds": list(CONVERSION_KINDS), "low": where.low or _FAR_PAST,
        "high": where.high or _FAR_FUTURE, "holder_kind": where.holder_kind,
        **regions.parameters(where.region), "category": where.category,
        "after_number": after[0] if after else "", "after_category": after[1] if after else "",
        "limit": limit, "dead": list(DEAD), "today": today}
    if where.category == NO_CONVERSION:
        rows = await _fetch(reads, _NONE, params)
        return [ConversionRow(r["number"], NO_CONVERSION, None) for r in rows]
    rows = await _fetch(reads, _PAGE, params)
    return [ConversionRow(r["number"], r["category"], r["since"], tuple(r["evidence"]))
            for r in rows]


# --- products -----------------------------------------------------------------------------------

_PRODUCTS = """
SELECT p.*, o.key FROM rm_products p
JOIN unnest(%(keys)s::text[]) AS o(key) ON o.key = {column}
WHERE p.filed_on <= %(day)s
  AND (%(known_at)s::timestamptz IS NULL OR p.recorded_at <= %(known_at)s)
ORDER BY o.key, p.filed_on, p.product_id
"""
_BY_PATENT = """
SELECT p.*, x.number AS key FROM rm_product_patents x JOIN rm_products p USING (product_id)
WHERE x.number = ANY(%(keys)s) AND p.filed_on <= %(day)s
  AND (%(known_at)s::timestamptz IS NULL OR p.recorded_at <= %(known_at)s)
ORDER BY x.number, p.filed_on, p.product_id
"""
_REPORTS = """
SELECT * FROM rm_product_reports WHERE product_id = ANY(%(ids)s)
  AND make_date(year, 12, 31) <= %(day)s AND (%(known_at)s::timestamptz IS NULL OR recorded_at <= %(known_at)s)
ORDER BY product_id, year
"""


async def products_by(reads: ReadModels, by: str, keys: Sequence[str], day: date | None,
                      known_at: datetime | None) -> dict[str, list[ProductRow]]:
    """Products by id (`by="id"`), by owner (`"owner"`) or by a patent they name (`"patent"`),
    filed by `day` as known at `known_at`, each with its reports up to that day; at most
    MAX_PRODUCTS_SHOWN per key."""
    params: dict[str, Any] = {"keys": list(keys), "day": day or _FAR_FUTURE,
                              "known_at": known_at}
    query = _BY_PATENT if by == "patent" else _PRODUCTS.format(
        column="p.product_id" if by == "id" else "p.owner")
    rows = await _fetch(reads, query, params)
    found: dict[str, list[ProductRow]] = defaultdict(list)
    for r in rows:
        if len(found[r["key"]]) < MAX_PRODUCTS_SHOWN:
            found[r["key"]].append(ProductRow(
                r["product_id"], r["name"], r["owner"], tuple(r["patents"]), r["filed_on"],
                r["category"], r["intensive"], r["position"]))
    ids = sorted({p.product_id for products in found.values() for p in products})
    if ids:
        reports: dict[str, list[ReportRow]] = defaultdict(list)
        for r in await _fetch(reads, _REPORTS, {**params, "ids": ids}):
            reports[r["product_id"]].append(ReportRow(r["year"], r["output_value"],
                                                      r["currency"], r["employees"],
                                                      r["position"]))
        for products in found.values():
            for product in products:
                product.reports.extend(reports.get(product.product_id, []))
    return dict(found)


# --- batched by DataLoaders (api/gql/context.py) ----------------------------------------------

ConversionKey = tuple[str, date | None, datetime | None]  # patent, asOf, asKnownAt
ProductKey = tuple[str, str, date | None, datetime | None]  # by, key, asOf, asKnownAt


async def conversions_for(reads: ReadModels, keys: Sequence[ConversionKey]
                          ) -> dict[ConversionKey, list[ConversionRow]]:
    """One statement per distinct (asOf, asKnownAt) the page asked (usually one)."""
    groups: dict[tuple[date | None, datetime | None], list[str]] = defaultdict(list)
    for number, day, known_at in keys:
        groups[(day, known_at)].append(number)
    found: dict[ConversionKey, list[ConversionRow]] = {}
    for (day, known_at), numbers in groups.items():
        for number, rows in (await conversions_of(reads, numbers, day, known_at)).items():
            found[(number, day, known_at)] = rows
    return found


async def products_for(reads: ReadModels, keys: Sequence[ProductKey]
                       ) -> dict[ProductKey, list[ProductRow]]:
    groups: dict[tuple[str, date | None, datetime | None], list[str]] = defaultdict(list)
    for by, key, day, known_at in keys:
        groups[(by, day, known_at)].append(key)
    found: dict[ProductKey, list[ProductRow]] = {}
    for (by, day, known_at), asked in groups.items():
        for key, rows in (await products_by(reads, by, asked, day, known_at)).items():
            found[(by, key, day, known_at)] = rows
    return found


async def k12_records(reads: ReadModels, parameters: dict[str, Any]) -> list[dict[str, Any]]:
    """K12's records for the indicators' parameters (projections/product_sql.py)."""
    return await _fetch(reads, K12_QUERY, parameters)
