"""`GET /v1/events`: the ordered log for downstream consumers, one JSON object per event."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from psycopg import AsyncConnection
from starlette.responses import Response

from api import visibility
from api.auth import ApiKey, require
from api.problems import json_response, problem_responses
from api.read_replicas import SERVED_BY, ReadRouter, min_position
from ledger.law import audiences
from ledger.law import events as ev
from ledger.law.values import Money
from ledger.storage.store import LedgerStore

router = APIRouter(prefix="/v1")

MAX_PAGE = 1_000
_ENVELOPE = {"originator_id", "originator_version", "timestamp", "effective_on", "posted_by",
             "deal_id", "signed_on", "patents", "fingerprint"}
_PARTY_FIELDS = ("party_id", "party", "from_parties", "licensors", "licensee", "owners",
                 "pledgors", "pledgee", "company", "to_parties",
                 # issue 19: the debt's parties, a risk payment's payer, intermediaries
                 "debtor", "guarantors", "insurer", "payer", "agency", "platform",
                 "technology_manager")


def plain(value: Any) -> Any:
    """Event values as JSON: money as {amount, currency}, decimals as strings, ISO dates."""
    if isinstance(value, Money):
        return value.as_json()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def parties_of(event: ev.LedgerEvent) -> list[str]:
    found: list[str] = []
    for name in _PARTY_FIELDS:
        value = getattr(event, name, None)
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list | dict):
            found.extend(value)
    return sorted(set(found))


def event_json(position: int, event: ev.LedgerEvent, role: str | None
               ) -> dict[str, Any] | None:
    """The event as `role` may read it, or None when it may not (ledger/law/audiences.py)."""
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    payload = audiences.shown(role, type(event), {k: plain(v) for k, v in fields.items()
                                                  if k not in _ENVELOPE})
    if payload is None:
        return None
    patents = list(getattr(event, "patents", None) or [])
    if not patents and hasattr(event, "number"):
        patents = [event.number]
    return {
        "position": position,
        "kind": event.TOPIC,
        "deal_id": getattr(event, "deal_id", None),
        "effective_on": event.effective_on.isoformat(),
        "recorded_at": event.timestamp.isoformat(),
        "posted_by": event.posted_by,
        "patents": patents,
        "parties": parties_of(event),
        "payload": payload,
    }


@router.get("/events", responses=problem_responses(401, 403, 422, 429, 503))
async def read_events(
    request: Request,
    key: Annotated[ApiKey, Depends(require("platform", "auditor", "regulator"))],
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> Response:
    """The log as the caller's role may read it (ledger/law/audiences.py): kinds it may not read
    are left out in SQL, so every page is full until the end and `next_after` (the last
    position returned) always moves a consumer on; positions skip where events were left out.
    Read from a replica when there are any (api/read_replicas.py; X-Ledger-Min-Position)."""
    store: LedgerStore = request.app.state.store
    router: ReadRouter = request.app.state.read_router
    served = await router.choose(min_position(request.headers))
    topics = visibility.topics(key.role)
    rows = await served.reads.run(partial(_page, after, limit, topics))
    page = [(r[0], store.decode(r[1], r[2], r[3], bytes(r[4]), r[0])) for r in rows]
    items = [item for position, event in page
             if (item := event_json(position, event, key.role)) is not None]
    next_after = page[-1][0] if page else after
    return json_response({"events": items, "next_after": next_after,
                          "has_more": len(page) == limit}, headers={SERVED_BY: served.server})


async def _page(after: int, limit: int, topics: tuple[str, ...] | None,
                conn: AsyncConnection[Any]) -> list[tuple[Any, ...]]:
    """The stored rows after `after`, in log order, of `topics` only when given."""
    where = " AND topic = ANY(%s)" if topics is not None else ""
    params: tuple[Any, ...] = (after, *([list(topics)] if topics is not None else []), limit)
    cur = await conn.execute(
        "SELECT notification_id, originator_id, originator_version, topic, state"
        f" FROM ledger_events WHERE notification_id > %s{where}"
        " ORDER BY notification_id LIMIT %s", params)
    return await cur.fetchall()
