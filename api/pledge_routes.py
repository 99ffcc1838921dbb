"""Issue 19 (domain.md s11.3): risk-sharing payments towards pledged loans.

Its own router, beside api/commands.py: posted by the platform that follows the loan (a bank)
or by a regulator that runs a risk-compensation fund, so either role may post it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.auth import ApiKey, require
from api.posting import ERRORS, first_result, service_of
from api.problems import answer
from ledger.posting import commands as c

router = APIRouter(prefix="/v1")

PlatformOrRegulator = Annotated[ApiKey, Depends(require("platform", "regulator"))]


@router.post("/risk-events", status_code=201, responses=ERRORS)
async def record_risk_event(request: Request, body: c.RiskEventCommand,
                            key: PlatformOrRegulator) -> Response:
    """A pre-compensation (前补偿), bad-debt deposit (保证金), guarantee or insurance payment,
    or an agency's compensation, towards the loan a pledge secures. 409 INV-11 unless the
    pledge is in default on `paid_on` (a pre-compensation may also come while it is active)
    and the payment is in the loan's currency;
    422 for an unknown pledge or payer; the same body again answers 200."""
    result = await first_result(service_of(request).record_risk_event(body, key.label))
    return answer(result, "event_id")
