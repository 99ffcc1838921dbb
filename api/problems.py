"""RFC 9457 problem details, and how each outcome of the ledger becomes an HTTP answer.

A rule refusal is 409 with `rule` and `facts`; a shape or reference error is 422 with `errors`
listing field paths; an idempotency key reused with another body is 409 without a rule; a path
naming nothing the ledger has (a listing, an anomaly, a key) is 404.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ledger.engine.writer import Result
from ledger.law.rules import Refusal
from ledger.posting.decisions import Accepted, Conflict, Faulted, Invalid, NotFound, Replayed, Skipped

PROBLEM = "application/problem+json"
_BASE = "https://patent-ledger.example/problems/"


class Problem(BaseModel):
    """An RFC 9457 problem as this API writes it, for the OpenAPI document."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None  # 422: field paths and messages
    rule: str | None = None  # 409 refusals: INV-n
    facts: dict[str, Any] | None = None  # 409: what blocks
    limit: int | None = None  # 413: the bound in bytes


_MEANING = {
    400: "the body is not JSON (or not a form the endpoint reads)",
    401: "no, unknown or revoked key",
    403: "the key's role may not call this",
    404: "no such thing: the path names what the ledger does not hold",
    405: "method not allowed",
    409: "refused by a rule (INV-n), an idempotency conflict or a key revoking itself",
    413: "request body too large",
    422: "invalid shape or unknown reference; also, for a body this document admits, a "
         "rule JSON Schema cannot state: a check character, shares summing to 1, dates in "
         "order, a blank name or control characters, the decimals of a JSON number",
    424: "an atomic batch failed at another deal; nothing stored",
    429: "the key is over its rate limit (Retry-After)",
    500: "a fault of the ledger's own while judging this posting (logged); nothing stored",
    503: "the writer is overloaded, the store unavailable or a read ran past its limit "
         "(Retry-After); retry",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a route can answer, as problem+json."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {status: {"description": _MEANING[status], "content": {PROBLEM: {"schema": schema}}}
            for status in statuses}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None,
                  media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers,
                    media_type=media_type)


def problem(status: int, kind: str, title: str, detail: str,
            headers: dict[str, str] | None = None, **members: Any) -> Response:
    body = {"type": _BASE + kind, "title": title, "status": status, "detail": detail, **members}
    return json_response(body, status, headers, PROBLEM)


def problem_body(result: Result) -> tuple[int, dict[str, Any]]:
    """Status and body of a posting that stored nothing new."""
    outcome = result.outcome
    if isinstance(outcome, Refusal):
        return 409, {"type": _BASE + "rule-refusal", "title": f"Refused by {outcome.rule}",
                     "status": 409, "detail": outcome.detail, "rule": outcome.rule,
                     "facts": outcome.facts}
    if isinstance(outcome, Invalid):
        return 422, {"type": _BASE + "invalid-reference", "title": "Unknown reference",
                     "status": 422, "detail": "; ".join(e["message"] for e in outcome.errors),
                     "errors": outcome.errors}
    if isinstance(outcome, NotFound):
        return 404, not_found_body(outcome.kind, outcome.detail)
    if isinstance(outcome, Conflict):
        return 409, {"type": _BASE + "idempotency-conflict", "title": "Idempotency key reused",
                     "status": 409, "detail": outcome.detail, "facts": outcome.facts}
    if isinstance(outcome, Skipped):
        return 424, {"type": _BASE + "batch-not-applied", "title": "Not applied",
                     "status": 424, "detail": f"the atomic batch failed at deal "
                     f"{outcome.failed_at}; nothing of it was stored",
                     "failed_at": outcome.failed_at}
    if isinstance(outcome, Faulted):
        return 500, {"type": _BASE + "internal-error", "title": "Internal error",
                     "status": 500, "detail": "the ledger could not judge this posting and "
                     "logged the fault; nothing of it was stored"}
    raise AssertionError(f"not a problem: {outcome!r}")


def not_found_body(kind: str, detail: str) -> dict[str, Any]:
    """A path that names nothing the ledger has (a listing, an anomaly, a key): 404."""
    return {"type": _BASE + "not-found", "title": f"Unknown {kind}", "status": 404,
            "detail": detail}


def not_found(kind: str, detail: str) -> Response:
    return json_response(not_found_body(kind, detail), 404, media_type=PROBLEM)


def stored_body(result: Result, id_name: str, body: dict[str, Any] | None = None
                ) -> tuple[int, dict[str, Any]]:
    """Status and body for a stored posting: 201 the first time, 200 on a replay. The
    members are added to `body` when given (a batch's row, which starts with its index)."""
    assert isinstance(result.outcome, Accepted | Replayed) and result.posted is not None
    posted = result.posted
    if body is None:
        body = {}
    body[id_name] = posted.key.partition(":")[2]
    body["position"] = posted.position
    body["events"] = [{"position": posted.position, "type": posted.topic}]
    if posted.patents:
        body["patents"] = list(posted.patents)
    flags = result.outcome.flags if isinstance(result.outcome, Accepted) else ()
    if flags or posted.flags:
        body["flags"] = sorted(set(flags) | set(posted.flags))
    return (201 if result.created else 200), body


def answer(result: Result, id_name: str) -> Response:
    if isinstance(result.outcome, Accepted | Replayed):
        status, body = stored_body(result, id_name)
        return json_response(body, status)
    status, body = problem_body(result)
    return json_response(body, status, media_type=PROBLEM)


def _plain(message: str) -> str:
    """pydantic prefixes the sentence of our own validators with "Value error, ": the client
    wants the sentence."""
    return message.removeprefix("Value error, ")


async def validation_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"path": list(err.get("loc", ())), "message": _plain(err.get("msg", "")),
         "type": err.get("type", "")}
        for err in exc.errors()
    ]
    detail = "; ".join(f"{'.'.join(map(str, e['path']))}: {e['message']}" for e in errors[:5])
    return problem(422, "invalid-request", "Invalid request", detail, errors=errors)


_UNREADABLE = {RecursionError: "it is nested too deeply", UnicodeDecodeError: "it is not UTF-8"}


async def http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and exc.__cause__ is not None:
        # FastAPI's body parsing failed on something other than a JSON syntax error (which it
        # reports as 422 itself): a shape error like any other, with the errors member.
        reason = _UNREADABLE.get(type(exc.__cause__), "it is not JSON this service can read")
        message = f"the body cannot be read: {reason}"
        return problem(422, "invalid-request", "Invalid request", message,
                       errors=[{"path": ["body"], "message": message, "type": "json_invalid"}])
    return problem(exc.status_code, "http-error", str(exc.detail), str(exc.detail),
                   headers=getattr(exc, "headers", None))
