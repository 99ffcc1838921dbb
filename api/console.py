"""The browser console (/console/), GraphiQL (GET /graphql) and the OpenAPI page (/docs),
served from files on this machine only (issue 20).

The console's own files are `console/src/`; the libraries it and the two developer pages use
(ECharts, GraphiQL with React, Swagger UI) are installed by `npm ci` in `console/` from
`console/package-lock.json` (scripts/dev.sh runs it) and served from `console/node_modules/`
through an allow-list below: nothing is fetched from another origin, at build or run time.
The console reads the ledger only through the public REST and GraphQL API, with the key the
user signs in with, so it shows exactly what that key's role may read.

Every answer carries a strict Content-Security-Policy (scripts, styles, images and requests
from this origin only; no inline script; no framing) and the usual hardening headers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import ApiKey, require
from api.problems import json_response, not_found, problem, problem_responses

CONSOLE_DIR = Path(__file__).resolve().parents[1] / "console"
SOURCE = CONSOLE_DIR / "src"
MODULES = CONSOLE_DIR / "node_modules"

# /console/vendor/<name>: the only files of the installed packages the browser may load.
VENDOR = {
    "echarts.min.js": "echarts/dist/echarts.min.js",
    "react.min.js": "react/umd/react.production.min.js",
    "react-dom.min.js": "react-dom/umd/react-dom.production.min.js",
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
}
_SOURCE_NAME = re.compile(r"[a-z][a-z0-9-]*\.(js|css|html|svg)")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml"}

# Styles: Swagger UI and GraphiQL set `style` attributes from their scripts' markup, which a
# CSP without 'unsafe-inline' for styles blocks, and embed their fonts as data: URLs (both
# of this origin's own files); scripts stay strictly 'self' everywhere.
_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'{styles}; "
           "img-src 'self' data:; font-src 'self'{styles}; connect-src 'self'; object-src 'none'; "
           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
STRICT_CSP = _POLICY.format(styles="")  # the console's own pages
DEVELOPER_PAGES_CSP = (_POLICY.replace("font-src 'self'{styles}", "font-src 'self' data:")
                       .format(styles=" 'unsafe-inline'"))
HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
    b"cross-origin-opener-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """Adds the CSP and hardening headers to every HTTP answer (API answers too: a JSON or
    problem body opened in a browser runs nothing either)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        developer = path == "/docs" or (path == "/graphql" and scope["method"] == "GET")
        policy = (DEVELOPER_PAGES_CSP if developer else STRICT_CSP).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(name, value) for name, value in HEADERS.items() if name not in present]
                if b"content-security-policy" not in present:
                    added.append((b"content-security-policy", policy))
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _file(path: Path, *, cache: bool) -> Response:
    if not path.is_file():
        return problem(503, "console-not-installed", "Console assets not installed",
                       f"{path.relative_to(CONSOLE_DIR.parent)} is missing: run `bash "
                       "scripts/dev.sh serve` (it runs `npm ci` in console/)")
    headers = {"Cache-Control": "public, max-age=3600" if cache else "no-cache"}
    return FileResponse(path, media_type=_TYPES.get(path.suffix), headers=headers)


router = APIRouter(include_in_schema=False)
Reader = Annotated[ApiKey, Depends(require("platform", "auditor", "regulator"))]


@router.get("/")
def root() -> Response:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console")
def console_bare() -> Response:
    return RedirectResponse("/console/", status_code=307)


@router.get("/console/")
def console_index() -> Response:
    return _file(SOURCE / "index.html", cache=False)


@router.get("/console/vendor/{name}")
def vendor(name: str) -> Response:
    if name not in VENDOR:
        return not_found("asset", f"no console asset {name!r}")
    return _file(MODULES / VENDOR[name], cache=True)


@router.get("/console/{name}")
def console_file(name: str) -> Response:
    if _SOURCE_NAME.fullmatch(name) is None:
        return not_found("asset", f"no console file {name!r}")
    path = SOURCE / name
    if not path.is_file():
        return not_found("asset", f"no console file {name!r}")
    return _file(path, cache=False)


whoami_router = APIRouter(prefix="/v1")


@whoami_router.get("/whoami", responses=problem_responses(401, 429))
def whoami(key: Reader) -> Response:
    """The calling key's role and id, so that a client (the console) offers only the pages
    that role may read; the API still enforces every read."""
    return json_response({"role": key.role, "key_id": key.key_id})


def add_console(app: FastAPI, *, graphiql: bool, docs: bool) -> None:
    """The console's routes; GraphiQL and /docs from local assets when they are on. Call
    before the GraphQL router is included, so that GET /graphql is this page."""
    app.include_router(router)
    app.include_router(whoami_router)
    if graphiql:
        @app.get("/graphql", include_in_schema=False)
        def graphiql_page(request: Request) -> Response:
            return _file(SOURCE / "graphiql.html", cache=False)
    if docs:
        @app.get("/docs", include_in_schema=False)
        def docs_page() -> Response:
            return _file(SOURCE / "docs.html", cache=False)
