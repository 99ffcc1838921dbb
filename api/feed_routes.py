"""Official-record feeds: `POST /v1/patents/batch` and `POST /v1/patents/status/batch`.

A patent office's gazette or a registry's daily file, posted as it is published: up to
MAX_BATCH registrations or status changes in one request, answered as `/v1/deals/batch`
answers (a row per item with its index and status, `stored`/`replayed`/`failed`; `atomic`
stores all or none). Each item is judged by its single endpoint's decision, through the
writer's group commit, so it is refused or stored exactly as a single posting would be.

The body is validated here, in the API's process, not in the batch preparer's child: the
child exists to take deals' preparation (fingerprints, streams, event fields) off the API's
interpreter lock, and these items need none; measured on the scale benchmark's loading (one
client, batches of 1,000, docs/architecture.md "Official-record feeds"), validation is a small
part of a batch's time beside judging and storing it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.commands import batch_response, batch_summary
from api.posting import BATCH_ERRORS, Platform, service_of, writer_answer
from ledger.posting.feed_commands import PatentBatch, StatusBatch

router = APIRouter(prefix="/v1")


@router.post("/patents/batch", responses=BATCH_ERRORS)
async def register_patents(request: Request, body: PatentBatch, key: Platform) -> Response:
    """Up to MAX_BATCH registrations, each as `POST /v1/patents` takes it: idempotent by its
    number (the same body again is a 200 row, another body a 409 conflict); INV-1 and
    unknown owners (422) judged per item. `atomic` stores all or none."""
    results = await writer_answer(service_of(request).post_registrations(
        body.patents, key.label, atomic=body.atomic))
    return batch_response(batch_summary(body.atomic, [p.number for p in body.patents],
                                        results, "number"))


@router.post("/patents/status/batch", responses=BATCH_ERRORS)
async def change_statuses(request: Request, body: StatusBatch, key: Platform) -> Response:
    """Up to MAX_BATCH status changes, each what `POST /v1/patents/{number}/status` takes
    plus its `number`, judged in order by the same rules (INV-4's status moves; an unknown
    patent is 422). Like the single endpoint, a status change has no idempotency key: posted
    again, a change its patent has already made is refused by INV-4 and stores nothing."""
    results = await writer_answer(service_of(request).post_status_changes(
        body.changes, key.label, atomic=body.atomic))
    summary = batch_summary(body.atomic, [ch.number for ch in body.changes], results,
                            "number")
    for row in summary["results"]:  # the single endpoint's number is in its path; here,
        if "errors" in row:  # in the item's body
            row["errors"] = [{**e, "path": ["body", *e["path"][1:]]} if e["path"][:1] == ["path"]
                             else e for e in row["errors"]]
    return batch_response(summary)
