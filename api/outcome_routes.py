"""REST commands of issue 18 (domain.md s10.1-10.2): industrialisation reports and products.

Role `platform` posts them, as it posts deals. Each is idempotent by its id (the same body
again: 200 and the first answer; another body: 409), 422 for a bad shape or an unknown
reference, 409 naming the rule (INV-4, INV-17) with its facts; docs/conversion.md.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from api.commands import PatentInPath
from api.posting import ERRORS, Platform, first_result, service_of
from api.problems import answer, json_response, problem_responses
from ledger.posting import fields
from ledger.posting.outcome_commands import (
    IndustrialisationCommand,
    ProductCommand,
    ProductReportCommand,
)

router = APIRouter(prefix="/v1")

ProductInPath = Annotated[fields.DealId, Path(description="the product's id")]


def _shown(response: Response, **members: Any) -> Response:
    """A stored answer with the members that name what was stored, in place of the key's
    tail (an industrialisation's key holds its patent too)."""
    if response.status_code >= 300:
        return response
    body = json.loads(bytes(response.body))
    body.update(members)
    return json_response(body, response.status_code)


@router.post("/patents/{number}/industrialisation", status_code=201, responses=ERRORS)
async def report_industrialisation(request: Request, number: PatentInPath,
                                   body: IndustrialisationCommand, key: Platform) -> Response:
    """The patent put to use by a licensee (`basis: licence`: INV-17 wants a licence in force
    for `party` on `started_on`) or by a partner under a technical service or development
    contract (`contract_ref`); INV-4 refuses a patent dead that day. Idempotent by
    `report_id` (per patent)."""
    result = await first_result(service_of(request).report_industrialisation(number, body, key.label))
    return _shown(answer(result, "report_id"), number=number, report_id=body.report_id,
                  category=("industrialised_by_licensee" if body.basis.value == "licence"
                            else "industrialised_by_partner"))


@router.post("/products", status_code=201, responses=ERRORS)
async def file_product(request: Request, body: ProductCommand, key: Platform) -> Response:
    """A patent product filed (专利产品备案): INV-17 refuses a patent its owner neither holds
    nor is licensed under on `filed_on`. Idempotent by `product_id`."""
    result = await first_result(service_of(request).file_product(body, key.label))
    return answer(result, "product_id")


@router.post("/products/{product_id}/reports", status_code=201,
             responses={**ERRORS, **problem_responses(404)})
async def report_product(request: Request, product_id: ProductInPath,
                         body: ProductReportCommand, key: Platform) -> Response:
    """A product's yearly output value and employees: one report per year (the year is its
    id: the same body again answers 200, other figures for that year 409). 404 for a product
    the ledger does not hold."""
    result = await first_result(service_of(request).report_product(product_id, body, key.label))
    return _shown(answer(result, "report_id"), product_id=product_id, year=body.year)
