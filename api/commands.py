"""REST commands: platforms post parties, patents, statuses and deals; regulators their decisions.

Each handler checks the shape (pydantic, 422), hands a decision to the writer and waits for it
without holding a thread: the writer thread judges and commits, the event loop serves others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from api.posting import (
    BATCH_ERRORS,
    ERRORS,
    Platform,
    Regulator,
    first_result,
    service_of,
    writer_answer,
)
from api.problems import (
    answer,
    json_response,
    not_found,
    problem_body,
    problem_responses,
    stored_body,
)
from ledger.engine.batch_preparer import BatchPreparer, InvalidBatch
from ledger.engine.writer import Result
from ledger.posting import commands as c
from ledger.posting import decisions as d
from ledger.posting import fields
from projections import anomaly_rules
from projections.queries import ReadModels

router = APIRouter(prefix="/v1")



@router.post("/parties", status_code=201, responses=ERRORS)
async def register_party(request: Request, body: c.PartyCommand, key: Platform) -> Response:
    result = await first_result(service_of(request).register_party(body, key.label))
    return answer(result, "id")


@router.post("/patents", status_code=201, responses=ERRORS)
async def register_patent(request: Request, body: c.PatentCommand, key: Platform) -> Response:
    result = await first_result(service_of(request).register_patent(body, key.label))
    return answer(result, "number")


# Path parameters are the commands' checked field types (ledger/posting/fields.py), so a bad one
# is the same 422 problem, with `errors` at ["path", name], as a bad body field.
PatentInPath = Annotated[fields.PatentNo, Path(description="a patent number; normalised")]
ListingInPath = Annotated[fields.DealId, Path(description="the listing's id")]
AnomalyInPath = Annotated[fields.Reference, Path(
    description="the anomaly's id (rule, hyphen, 12 hex digits: AR-5-0123456789ab)")]


async def _patent_fact(number: str, posted: Future[list[Result]], shown: dict[str, Any]
                       ) -> Response:
    """The answer to a fact about one patent named in the path (normalised by its type); 201
    shows `shown` and the position."""
    result = await first_result(posted)
    if isinstance(result.outcome, d.Accepted):
        return json_response({"number": number, **shown,
                              "position": result.positions[0]}, 201)
    return answer(result, "number")


@router.post("/patents/{number}/status", status_code=201, responses=ERRORS)
async def change_status(
    request: Request, number: PatentInPath, body: c.StatusCommand,
    key: Platform,
) -> Response:
    posted = service_of(request).change_status(number, body, key.label)
    return await _patent_fact(number, posted, {"status": body.status.value})


@router.post("/patents/{number}/inventors", status_code=201, responses=ERRORS)
async def change_inventors(
    request: Request, number: PatentInPath, body: c.InventorsCommand,
    key: Platform,
) -> Response:
    """Record a change of the patent's inventors (AR-11 watches these around transfers)."""
    posted = service_of(request).change_inventors(number, body, key.label)
    return await _patent_fact(number, posted, {"inventors": list(body.inventors)})


# --- issue 17 (law): term compensation ----------------------------------------------------


@router.post("/patents/{number}/term-extensions", status_code=201, responses=ERRORS)
async def extend_term(
    request: Request, number: PatentInPath, body: c.TermExtensionCommand, key: Platform,
) -> Response:
    """Record a term compensation (Patent Law Art. 42(2)-(3)); it moves the patent's expiry.
    Refused as INV-5 outside the article (docs/law.md); idempotent by `extension_id`."""
    result = await first_result(service_of(request).extend_term(number, body, key.label))
    if isinstance(result.outcome, d.Accepted | d.Replayed):
        status, shown = stored_body(result, "extension_id")
        shown.update(number=number, extension_id=body.extension_id, days=body.days,
                     basis=body.basis.value)
        return json_response(shown, status)
    return answer(result, "extension_id")


# --- end issue 17 (law) -------------------------------------------------------------------


@router.post("/deals", status_code=201, responses=ERRORS)
async def post_deal(request: Request, body: c.DealCommand, key: Platform) -> Response:
    result = await first_result(service_of(request).post_deal(body, key.label))
    return answer(result, "deal_id")


_BATCH_SCHEMA = c.DealBatch.model_json_schema(ref_template="#/components/schemas/{model}")
BATCH_SCHEMA_DEFS = _BATCH_SCHEMA.pop("$defs", {})


@router.post(
    "/deals/batch", responses=BATCH_ERRORS,
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": _BATCH_SCHEMA}}}},
)
async def post_batch(request: Request, key: Platform) -> Response:
    """Up to MAX_BATCH deals; `atomic` stores all or none, otherwise each on its own.

    The body is validated and its deals prepared in the batch preparer's process
    (ledger/engine/batch_preparer.py), which sends them back in slices; the writer judges each
    slice as it comes, before it takes the table lock. A deal found invalid late takes the
    whole batch back (422, nothing stored).
    """
    preparer: BatchPreparer = request.app.state.batch_preparer
    try:
        batch = await preparer.prepare(await request.body())
    except InvalidBatch as invalid:  # not JSON, or the wrong shape
        raise RequestValidationError(invalid.errors) from None
    try:
        results = await writer_answer(service_of(request).post_batch(batch, key.label,
                                                             atomic=batch.atomic))
    except InvalidBatch:  # a deal turned out invalid: the writer took the batch back
        results = []
    # Also after an atomic batch was refused early: a later deal may yet be invalid (422).
    errors = await batch.errors()
    if errors is not None:
        raise RequestValidationError(errors)
    return batch_response(batch_summary(batch.atomic, batch.deal_ids, results))


def batch_response(summary: dict[str, Any]) -> Response:
    """A batch's answer (deals, registrations, status changes alike): 200 with a row per
    item, or for an atomic batch that stored nothing, the status of the item that failed."""
    failed = next((r["status"] for r in summary["results"]
                   if r["status"] not in (200, 201, 424)), None)
    if summary["atomic"] and failed is not None:
        return json_response(summary, failed)
    return json_response(summary, 200)


def batch_summary(atomic: bool, ids: Sequence[str], results: Sequence[Result],
                  id_name: str = "deal_id") -> dict[str, Any]:
    """One row per item, and honest counts: `stored` new events (201), `replayed` items the
    ledger already had (200), `failed` the rest. A conflict with an item earlier in the same
    batch names that item's `first_index` (its position, if it was stored, the writer adds).
    An item stored without an idempotency key of its own (a status change) names `id_name`
    from `ids` and its events' positions."""
    rows: list[dict[str, Any]] = []
    first_index: dict[str, int] = {}
    for index, (item_id, result) in enumerate(zip(ids, results, strict=True)):
        first_index.setdefault(item_id, index)
        outcome = result.outcome
        row: dict[str, Any]
        if isinstance(outcome, d.Accepted) and result.posted is None:
            row = {"index": index, "status": 201, id_name: item_id,
                   "position": result.positions[0],
                   "events": [{"position": p, "type": e.TOPIC}
                              for p, e in zip(result.positions, outcome.events, strict=True)]}
        elif isinstance(outcome, d.Accepted | d.Replayed):
            status, row = stored_body(result, id_name, {"index": index, "status": None})
            row["status"] = status  # second, after the index, as in every row
        else:
            status, problem = problem_body(result)
            row = {"index": index, "status": status, **problem, id_name: item_id}
            if isinstance(outcome, d.Conflict) and first_index[item_id] < index:
                row["facts"] = {**row["facts"], "first_index": first_index[item_id]}
        rows.append(row)
    stored = sum(1 for r in rows if r["status"] == 201)
    replayed = sum(1 for r in rows if r["status"] == 200)
    return {"atomic": atomic, "stored": stored, "replayed": replayed,
            "failed": len(rows) - stored - replayed, "results": rows}


# --- Regulators' decisions ----------------------------------------------------------------


@router.post("/subsidies", status_code=201, responses=ERRORS)
async def award_subsidy(request: Request, body: c.SubsidyCommand, key: Regulator) -> Response:
    result = await first_result(service_of(request).award_subsidy(body, key.label))
    return answer(result, "subsidy_id")


SubsidyInPath = Annotated[fields.DealId, Path(description="the subsidy's id")]


@router.post("/subsidies/{subsidy_id}/recovery", status_code=201,
             responses={**ERRORS, **problem_responses(404)})
async def recover_subsidy(request: Request, subsidy_id: SubsidyInPath,
                          body: c.RecoveryCommand, key: Regulator) -> Response:
    """Issue 17 (credit): a recovery (clawback) of a subsidy, in whole or in part. 404 for a
    subsidy the ledger does not hold; 409 INV-18 for more than is left to recover, or another
    currency than the award's; the same body again answers 200 with the first answer. The
    answer names the recovery `<subsidy_id>:<n>`, the n-th of the subsidy."""
    result = await first_result(service_of(request).recover_subsidy(subsidy_id, body, key.label))
    response = answer(result, "recovery_id")
    if response.status_code < 300:
        stored = json.loads(response.body)
        stored["subsidy_id"] = subsidy_id
        return json_response(stored, response.status_code)
    return response


@router.post("/listings", status_code=201, responses=ERRORS)
async def list_party(request: Request, body: c.ListingCommand, key: Regulator) -> Response:
    result = await first_result(service_of(request).list_party(body, key.label))
    return answer(result, "listing_id")


@router.post("/listings/{listing_id}/end", status_code=201,
             responses={**ERRORS, **problem_responses(404)})
async def end_listing(
    request: Request, listing_id: ListingInPath, key: Regulator,
    body: c.ListingEndCommand | None = None,
) -> Response:
    posted = service_of(request).end_listing(listing_id, body or c.ListingEndCommand(), key.label)
    return answer(await first_result(posted), "listing_id")


@router.post("/anomalies/{anomaly_id}/finding", status_code=201,
             responses={**ERRORS, **problem_responses(404)})
async def record_finding(
    request: Request, anomaly_id: AnomalyInPath, body: c.FindingCommand,
    key: Regulator,
) -> Response:
    """A regulator's finding on a flag the ledger raised: 404 for an id no flag has.

    Flags are made by the anomalies projection, which the writer must not read (ledger/ does
    not import projections/), so the handler asks the read models before posting. The race:
    a flag raised by an event just stored but not yet projected is unknown for that moment
    (404; the projection follows within a second, and posting again then succeeds); a flag
    that a late event drops between this look-up and the posting still gets the finding,
    which stays in the log and attaches again if the same evidence is ever flagged anew.
    A retry of a finding whose flag has since been dropped hears 404, not its first answer.
    An id of another shape names no flag either: 404 without a look-up (text the ledger
    cannot store, like a NUL, is still 422, as in every field).
    """
    reads: ReadModels = request.app.state.reads
    if re.fullmatch(anomaly_rules.ID_PATTERN, anomaly_id) is None or not await reads.anomaly_flagged(anomaly_id):
        return not_found("anomaly", f"no anomaly {anomaly_id!r} has been flagged")
    posted = service_of(request).record_finding(anomaly_id, body, key.label)
    return answer(await first_result(posted), "anomaly_id")
