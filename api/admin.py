"""Admin endpoints: issue, list and revoke API keys while the service runs (no restart)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from api.auth import ApiKey, KeyRing, require
from api.key_store import KeyStore
from api.problems import json_response, not_found, problem, problem_responses

router = APIRouter(prefix="/v1/admin")
Admin = Annotated[ApiKey, Depends(require())]  # admin only


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["platform", "auditor", "regulator", "admin"]


def _store_and_ring(request: Request) -> tuple[KeyStore, KeyRing]:
    return request.app.state.key_store, request.app.state.keyring


_ERRORS = problem_responses(400, 401, 403, 413, 422, 429)


@router.post("/keys", status_code=201, responses=_ERRORS)
def issue_key(request: Request, body: NewKey, key: Admin) -> Response:
    """A new key for a role, shown once in the answer; only its hash is kept."""
    store, ring = _store_and_ring(request)
    new_key, key_id = store.issue(body.role)
    store.refresh(ring)  # this process at once; the others within seconds
    return json_response({"key": new_key, "key_id": key_id, "role": body.role,
                          "issued_by": key.label}, 201)


@router.get("/keys", responses=_ERRORS)
def list_keys(request: Request, key: Admin) -> Response:
    """Keys issued or revoked at run time (configured keys appear once revoked)."""
    store, _ = _store_and_ring(request)
    return json_response([{"key_id": r.key_id, "role": r.role,
                           "created_at": _iso(r.created_at), "revoked_at": _iso(r.revoked_at)}
                          for r in store.records()])


@router.delete("/keys/{key_id}", responses={**_ERRORS, **problem_responses(404, 409)})
def revoke_key(request: Request, key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")],
               key: Admin) -> Response:
    """Revoke a key by its id (the 12 hex digits events record in `posted_by`): one issued
    at run time or one configured at start; an id no key has is 404 and stores nothing."""
    store, ring = _store_and_ring(request)
    if key_id == key.key_id:
        return problem(409, "own-key", "Conflict", "a key cannot revoke itself; use another "
                       "admin key")
    revoked_at = store.revoke(key_id, configured=ring.configured_ids())
    if revoked_at is None:
        return not_found("key", f"no API key has the id {key_id}")
    store.refresh(ring)
    return json_response({"key_id": key_id, "revoked_at": _iso(revoked_at)})


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
