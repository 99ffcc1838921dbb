"""Projection "products" (issue 18, domain.md s10.2): patent products and their yearly reports.

`rm_products` holds each filed product as filed; `rm_product_patents` which products name a
patent (`patent { products }`); `rm_product_reports` one row per product and year. The owner's
kind and region are joined from `rm_parties` when asked (as the indicators do), so nothing here
depends on how far another projection has got. Products and reports are never changed once
stored: a batch only adds rows, with COPY, and only for its own two event kinds; a report is
unique per (product, year) in the log (`ledger/law/keys.py`), so no row is written twice.
"""

from __future__ import annotations

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.law import events as ev
from projections.copy_text import array

Batch = list[tuple[int, ev.LedgerEvent]]


class ProductProjection:
    name: str = "products"
    tables: tuple[str, ...] = ("rm_products", "rm_product_patents", "rm_product_reports")

    def reset(self) -> None:
        """Nothing is cached: the tables hold it all."""

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        filed = [(p, e) for p, e in batch if isinstance(e, ev.ProductFiled)]
        reported = [(p, e) for p, e in batch if isinstance(e, ev.ProductReported)]
        if filed:
            with cur.copy(SQL("COPY {} (product_id, name, owner, patents, filed_on, category, "
                              "intensive, position, recorded_at) FROM STDIN").format(
                                  Identifier("rm_products" + suffix))) as copy:
                for position, product in filed:
                    copy.write_row((product.product_id, product.name, product.owner,
                                    array(product.patents), product.filed_on, product.category,
                                    product.intensive, position, product.timestamp))
            with cur.copy(SQL("COPY {} (number, product_id) FROM STDIN").format(
                    Identifier("rm_product_patents" + suffix))) as copy:
                for _, product in filed:
                    for number in product.patents:
                        copy.write_row((number, product.product_id))
        if reported:
            with cur.copy(SQL("COPY {} (product_id, year, output_value, currency, employees, "
                              "position, recorded_at) FROM STDIN").format(
                                  Identifier("rm_product_reports" + suffix))) as copy:
                for position, report in reported:
                    copy.write_row((report.product_id, report.year, report.output_value.amount,
                                    report.output_value.currency, report.employees, position,
                                    report.timestamp))
