"""What every command route shares: who may post, the errors it documents, and how it waits
for the writer's answer without holding a thread (api/commands.py and the routes beside it)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Annotated, Any

from fastapi import Depends, Request

from api.auth import ApiKey, require
from api.problems import problem_responses
from ledger.engine.writer import Result, StoreUnavailable
from ledger.service import LedgerService

ANSWER_SECONDS = 5.0  # the longest a posting waits for the writer before 503

Platform = Annotated[ApiKey, Depends(require("platform"))]
Regulator = Annotated[ApiKey, Depends(require("regulator"))]

# Every error status a command can answer, documented as problem+json (api/problems.py).
REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {"description": "the same body was posted before: nothing new stored"}}
ERRORS = {**REPLAYED, **problem_responses(400, 401, 403, 409, 413, 422, 429, 500, 503)}
BATCH_ERRORS = problem_responses(400, 401, 403, 409, 413, 422, 424, 429, 500, 503)


async def writer_answer(future: Future[list[Result]]) -> list[Result]:
    """The writer's answer, or 503 after ANSWER_SECONDS: while PostgreSQL is away the library
    retries its reads for a long time, and a client should hear something it can act on. The
    posting may still be stored; posting the same body again is safe (idempotency)."""
    try:
        # Shielded: giving up waiting must not cancel the posting the writer still holds.
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)),
                                      ANSWER_SECONDS)
    except TimeoutError:
        raise StoreUnavailable(f"no answer from the event store within {ANSWER_SECONDS:g} s; "
                               "post the same body again shortly") from None


def service_of(request: Request) -> LedgerService:
    service: LedgerService = request.app.state.service
    return service


async def first_result(future: Future[list[Result]]) -> Result:
    return (await writer_answer(future))[0]
