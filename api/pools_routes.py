"""REST commands of issue 18 (pools; domain.md s10.3-10.4): pools, a patent's IPC
classification, a party's dated qualifications and size changes. Role `platform`.

Pool entries, exits and pool licences are deals (`POST /v1/deals`, kinds `pool_entry`,
`pool_exit`, and `licence` with `pool`); docs/pools.md describes them all.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from api.commands import PatentInPath
from api.posting import ERRORS, Platform, first_result, service_of
from api.problems import answer, json_response, stored_body
from ledger.engine.writer import Result
from ledger.posting import commands as c
from ledger.posting import decisions as d
from ledger.posting import fields

router = APIRouter(prefix="/v1")

PartyInPath = Annotated[fields.PartyId, Path(description="the party's id; normalised")]


def _shown(result: Result, id_name: str, shown: dict[str, Any]) -> Response:
    """201 (200 on a replay) with what was stored, or the problem."""
    if isinstance(result.outcome, d.Accepted | d.Replayed):
        status, body = stored_body(result, id_name)
        body.update(shown)
        return json_response(body, status)
    return answer(result, id_name)


@router.post("/pools", status_code=201, responses=ERRORS)
async def form_pool(request: Request, body: c.PoolCommand, key: Platform) -> Response:
    """A patent pool (专利池) and its administrator; idempotent by `pool_id`."""
    result = await first_result(service_of(request).form_pool(body, key.label))
    return answer(result, "pool_id")


@router.post("/patents/{number}/classification", status_code=201, responses=ERRORS)
async def classify_patent(request: Request, number: PatentInPath,
                          body: c.ClassificationCommand, key: Platform) -> Response:
    """The patent's IPC symbols (validated, one spelling), replacing any earlier list. The
    same body again answers 200 with the first answer."""
    result = await first_result(service_of(request).classify_patent(number, body, key.label))
    return _shown(result, "number", {"number": number, "ipc": list(body.ipc)})


@router.post("/parties/{party_id}/qualifications", status_code=201, responses=ERRORS)
async def qualify_party(request: Request, party_id: PartyInPath,
                        body: c.QualificationCommand, key: Platform) -> Response:
    """A dated qualification (high_tech, specialised_sme, ...); idempotent by party,
    qualification and `from` (the same with another body: 409)."""
    result = await first_result(service_of(request).qualify_party(party_id, body, key.label))
    return _shown(result, "party", {
        "party": party_id, "qualification": body.qualification.value,
        "from": body.valid_from.isoformat(),
        "to": None if body.valid_to is None else body.valid_to.isoformat()})


@router.post("/parties/{party_id}/size", status_code=201, responses=ERRORS)
async def change_size(request: Request, party_id: PartyInPath, body: c.SizeCommand,
                      key: Platform) -> Response:
    """The party's size class from `effective_on`; idempotent by party and day."""
    result = await first_result(service_of(request).change_size(party_id, body, key.label))
    return _shown(result, "party", {"party": party_id, "size": body.size.value,
                                    "effective_on": body.effective_on.isoformat()})
