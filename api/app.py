"""The FastAPI application: routers, problem+json errors, limits, logs and metrics."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from psycopg.errors import QueryCanceled
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import admin, commands, event_log, outcome_routes, pledge_routes, pools_routes
from api.auth import AuthError, KeyRing
from api.console import SecurityHeaders, add_console
from api.feed_routes import router as feed_router  # official-record feeds
from api.gql.router import BadGraphQLRequest, graphql_router
from api.key_store import KeyRefresher, KeyStore
from api.problems import PROBLEM, Problem, http_problem, problem, problem_responses, validation_problem
from api.projection_standing import LedgerStanding
from api.read_replicas import BadMinPosition, ReadRouter
from ledger.engine.batch_preparer import BatchPreparer, PreparerUnavailable
from ledger.engine.writer import Overloaded, StoreUnavailable
from ledger.service import LedgerService
from projections.queries import STATEMENT_TIMEOUT_MS, ReadModels

log = logging.getLogger("ledger.api")

MAX_BODY = 256 * 1024  # one deal, party or patent
MAX_BATCH_BODY = 16 * 1024 * 1024  # a batch of up to 1,000 deals
READ_SECONDS = STATEMENT_TIMEOUT_MS / 1000  # one read query, then 503 read-limit


def create_app(service: LedgerService, keyring: KeyRing, *, production: bool = False,
               public_docs: bool = False, read_urls: Sequence[str] = (),
               min_position_wait: float = 2.0) -> FastAPI:
    """The application. In production the API's description (/docs, /openapi.json) is not
    served unless `public_docs` (LEDGER_PUBLIC_DOCS=1): it maps every route and field for
    whoever asks, keys or not. `read_urls` (LEDGER_READ_DATABASE_URL) are replicas that
    GraphQL and `GET /v1/events` read from; `min_position_wait` bounds X-Ledger-Min-Position
    (api/read_replicas.py)."""
    docs = not production or public_docs

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The read pool belongs to the event loop that serves: one per lifespan.
        reads = ReadModels(service.database_url, service.store.decode)
        await reads.open()
        app.state.reads = reads
        # issue 21: which server answers each read; the primary's `reads` when no replica
        router = ReadRouter(reads, read_urls, service.store.decode, min_position_wait)
        await router.open()
        app.state.read_router = router
        refresher = KeyRefresher(app.state.key_store, keyring).start()
        try:
            yield
        finally:
            refresher.stop()
            app.state.batch_preparer.stop()
            app.state.standing.close()
            await router.close()
            await reads.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Patent deal ledger",
        version="0.1.0",
        description="Post patent deals as immutable events; refusals name the rule (INV-n).",
        docs_url=None,  # served from local assets by api/console.py
        openapi_url="/openapi.json" if docs else None,
        redoc_url=None,
    )
    app.state.service = service
    app.state.writer = service.writer
    app.state.batch_preparer = BatchPreparer(service.metrics)  # started by the first batch
    app.state.store = service.store
    app.state.keyring = keyring
    app.state.key_store = KeyStore(service.database_url)
    app.state.standing = LedgerStanding(service.database_url)
    app.include_router(feed_router)  # official-record feeds
    app.include_router(commands.router)
    app.include_router(pools_routes.router)  # issue 18 (pools)
    app.include_router(pledge_routes.router)  # issue 19
    app.include_router(outcome_routes.router)  # issue 18 (outcomes)
    app.include_router(admin.router)
    app.include_router(event_log.router)
    add_console(app, graphiql=not production, docs=docs)  # before /graphql: its GET page
    app.include_router(graphql_router(production=production), prefix="/graphql")
    _add_operations(app, service)
    _add_error_handlers(app)
    _document_raw_bodies(app)
    app.add_middleware(BodyLimit)
    app.add_middleware(AccessLog, metrics=service.metrics)
    app.add_middleware(SecurityHeaders)  # outermost: every answer, a 413 or 500 too
    return app


def _add_operations(app: FastAPI, service: LedgerService) -> None:
    standing: LedgerStanding = app.state.standing
    standing.register_metrics(service.metrics)

    @app.get("/healthz", responses=problem_responses(503))
    def healthz() -> Response:
        try:
            now = standing.read()
        except Exception as error:  # the database is away
            return problem(503, "unhealthy", "Store unavailable", str(error),
                           headers={"Retry-After": "2"})
        body = health_report(now.head, service.writer.position)
        body["projections"] = {p.name: p.report() for p in now.projections}
        # --- issue 21 (workers): which of `serve --workers N`'s processes answered ---
        worker = getattr(app.state, "worker", None)
        if worker is not None:
            body["worker"] = worker
        # --- end issue 21 (workers) ---
        if now.degraded:
            body["status"] = "degraded"
        return Response(json.dumps(body), status_code=503 if now.degraded else 200,
                        media_type="application/json")

    @app.api_route("/graphql", methods=["OPTIONS", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    def graphql_other_methods() -> Response:
        """Starlette's 405 would name only the first /graphql route's method (GET)."""
        return problem(405, "http-error", "Method Not Allowed", "/graphql takes GET and POST",
                       headers={"Allow": "GET, POST"})

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(service.metrics.render(),
                                 media_type="text/plain; version=0.0.4")


def health_report(head: int, writer_position: int) -> dict[str, Any]:
    """What /healthz says about the log: `position` is its head (every process's postings);
    `writer.position` how far this API process's writer has seen it, which trails the head
    by `writer.behind` events only until it folds in what `demo`, `import` or another API
    stored (when idle, within a second; else at its next posting). `writer_position` is the
    same number under its first name, kept for existing clients. The caller adds
    `projections`: each one's committed position, its lag behind the head, and its stop if
    any, read from the database (api/projection_standing.py), whichever process projects."""
    return {"status": "ok", "position": head,
            "writer": {"position": writer_position, "behind": max(head - writer_position, 0)},
            "writer_position": writer_position}


def _document_raw_bodies(app: FastAPI) -> None:
    """Routes that validate their raw body themselves still publish its schema."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, definition in commands.BATCH_SCHEMA_DEFS.items():
                components.setdefault(name, definition)
            components.setdefault("Problem", Problem.model_json_schema())
            _problems_only(schema)
            _document_graphql(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problems_only(schema: dict[str, Any]) -> None:
    """Errors are problem+json: FastAPI's own 422 entry also claims application/json."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and PROBLEM in content:
                    content.pop("application/json", None)


def _document_graphql(schema: dict[str, Any]) -> None:
    """Strawberry's routes say little: what /graphql takes and answers, as it does."""
    graphql = schema.get("paths", {}).get("/graphql", {})
    if "get" in graphql:
        graphql["get"]["responses"] = {
            "200": {"description": "the GraphiQL page", "content": {"text/html": {"schema": {
                "type": "string"}}}},
            "404": {"description": "GraphiQL is off (production)"}}
    if "post" in graphql:
        graphql["post"]["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"type": "object", "required": ["query"], "properties": {
                "query": {"type": "string", "minLength": 1},
                "variables": {"type": ["object", "null"]},
                "operationName": {"type": ["string", "null"]},
                "extensions": {"type": ["object", "null"]}}}}}}
        graphql["post"]["responses"] = {
            "200": {"description": "data and/or GraphQL errors",
                    "content": {"application/json": {"schema": {"type": "object"}}}},
            "400": {"description": "not a GraphQL request: a body that is not JSON or not "
                    "as above (problem+json), or one strawberry refuses itself in plain text "
                    "(a content type other than JSON, an operationName the query does not "
                    "define)", "content": {
                        PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}},
                        "text/plain": {"schema": {"type": "string"}}}},
            **problem_responses(401, 403, 413, 429)}


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(app: FastAPI, scope: Scope) -> str:
    """Every method some route at this path takes, for a 405's Allow: Starlette names only
    the first matching route's, and GET and POST /v1/admin/keys are two routes. Asked of the
    routes themselves (a full match per method), as FastAPI nests included routers."""
    return ", ".join(m for m in _METHODS
                     if any(route.matches({**scope, "method": m})[0] == Match.FULL
                            for route in app.router.routes))


def _add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_problem)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            exc.headers = {"Allow": allowed_methods(request.app, request.scope)}
        return await http_problem(request, exc)

    @app.exception_handler(AuthError)
    async def auth_problem(request: Request, exc: AuthError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.retry_after is not None:
            headers = {"Retry-After": str(exc.retry_after)}
        title, kind = {401: ("Unauthorized", "unauthorized"),
                       429: ("Too Many Requests", "rate-limited")}.get(
            exc.status, ("Forbidden", "forbidden"))
        return problem(exc.status, kind, title, exc.detail, headers=headers)

    @app.exception_handler(BadGraphQLRequest)
    async def bad_graphql_request(request: Request, exc: BadGraphQLRequest) -> Response:
        return problem(400, "invalid-graphql-request", "Not a GraphQL request", str(exc))

    @app.exception_handler(BadMinPosition)
    async def bad_min_position(request: Request, exc: BadMinPosition) -> Response:
        return problem(422, "bad-min-position", "Invalid X-Ledger-Min-Position", str(exc))

    @app.exception_handler(Overloaded)
    async def overloaded(request: Request, exc: Overloaded) -> Response:
        return problem(503, "overloaded", "Writer overloaded", str(exc),
                       headers={"Retry-After": "1"})

    @app.exception_handler(PreparerUnavailable)
    async def preparer_unavailable(request: Request, exc: PreparerUnavailable) -> Response:
        return problem(503, "preparer-unavailable", "Batch preparer unavailable", str(exc),
                       headers={"Retry-After": "1"})

    @app.exception_handler(QueryCanceled)
    async def read_limit(request: Request, exc: QueryCanceled) -> Response:
        # The read pool's statement limit (projections/queries.py): a read a client asked
        # for, too long for it, not a fault of the ledger's.
        log.warning("read stopped at its limit of %g s: %s %s", READ_SECONDS,
                    request.method, request.url.path)
        return problem(503, "read-limit", "Read limit exceeded",
                       f"the read ran past its limit of {READ_SECONDS:g} s and was stopped; "
                       "ask for a smaller page", headers={"Retry-After": "1"},
                       limit="read_seconds", max=READ_SECONDS)

    @app.exception_handler(StoreUnavailable)
    async def unavailable(request: Request, exc: StoreUnavailable) -> Response:
        return problem(503, "store-unavailable", "Store unavailable", str(exc),
                       headers={"Retry-After": "2"})


class BodyLimit:
    """413 for a body over its route's bound, counted as it streams (Content-Length may lie,
    and a chunked body has none).

    The body is read here, in full, before the app is called: an exception raised from inside
    the app's `receive` is caught by FastAPI's body parsing and answered 400, so the limit
    must be decided before the app reads anything. What the app gets is the same body, whole
    (at most `limit` bytes held, which the app would hold anyway)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = MAX_BATCH_BODY if scope["path"].endswith("/batch") else MAX_BODY
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: pass it on
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await _too_large(limit)(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that hands out `messages` first, then whatever the server sends next
    (a disconnect)."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _too_large(limit: int) -> Response:
    return problem(413, "body-too-large", "Request body too large",
                   f"the body exceeds {limit} bytes for this endpoint", limit=limit)


class AccessLog:
    """One structured log line and the request metrics per HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Any) -> None:
        self.app = app
        self.metrics = metrics
        metrics.counter("http_requests_total", "HTTP requests by route and status")
        metrics.histogram("http_request_seconds", "HTTP request latency",
                          (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.metrics.inc("http_requests_total", route=path, status=str(status))
            self.metrics.observe("http_request_seconds", elapsed, route=path)
            if log.isEnabledFor(logging.INFO):
                log.info(json.dumps({"event": "request", "method": scope["method"],
                                     "path": scope["path"], "status": status,
                                     "ms": round(elapsed * 1000, 2)}))

