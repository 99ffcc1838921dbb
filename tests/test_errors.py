"""Errors are clear and internals stay inside (REST): a chunked body over the limit is 413 over
a real connection, every 422 carries `errors`, production hides the API's description, and a
client's mistake is not logged as an error."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import MAX_BATCH_BODY, MAX_BODY, create_app
from api.auth import KeyRing
from ledger.service import LedgerService
from tests.builders import ACME, event_count
from tests.ledger_fixtures import KEY_SETTING, auth


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(app: Any) -> Iterator[str]:
    """The app behind uvicorn on a real socket: TestClient never sends a chunked body."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(),
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=10)


def _chunks(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    """A JSON body of `total` bytes, sent in pieces (httpx: Transfer-Encoding: chunked)."""
    head = b'{"id": "' + ACME.encode() + b'", "kind": "enterprise", "name": "'
    yield head
    left = total - len(head) - 2
    while left > 0:
        piece = min(size, left)
        yield b"a" * piece
        left -= piece
    yield b'"}'


@pytest.mark.parametrize(("path", "limit"), [("/v1/parties", MAX_BODY),
                                             ("/v1/deals/batch", MAX_BATCH_BODY)])
def test_a_chunked_body_over_the_limit_is_413_and_stores_nothing(
        served: str, client: TestClient, path: str, limit: int) -> None:
    with httpx.Client(base_url=served, headers=auth("platform"), timeout=30) as http:
        over = http.post(path, content=_chunks(limit + 300 * 1024),
                         headers={"content-type": "application/json"})
        assert over.request.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in over.request.headers
        assert over.status_code == 413, over.text
        assert over.headers["content-type"] == "application/problem+json"
        assert over.json()["limit"] == limit
        assert event_count(client) == 0
        # Under the limit, chunked too: the body reaches the route whole.
        under = http.post("/v1/parties", content=_chunks(2 * 1024),
                          headers={"content-type": "application/json"})
        assert under.status_code == 201, under.text
    assert event_count(client) == 1


BAD_REQUESTS = [
    ("post", "/v1/patents/١٢/status", {"status": "lapsed", "effective_on": "2021-01-01"}),
    ("post", "/v1/patents/%FF/inventors", {"inventors": ["X"], "effective_on": "2021-01-01"}),
    ("post", "/v1/patents/" + "1" * 60 + "/status", {}),
    ("post", "/v1/anomalies/%00/finding", {"decision": "confirmed"}),
    ("post", "/v1/listings/" + "l" * 200 + "/end", None),
    ("get", "/v1/events?after=-1", None),
    ("get", "/v1/events?limit=abc", None),
    ("post", "/v1/parties", b"{not json"),
    ("post", "/v1/deals/batch", b"{not json"),
    ("post", "/v1/deals/batch", {"deals": []}),
    ("post", "/v1/deals/batch", {"deals": [{"deal_id": "x", "kind": "transfer"}]}),
    ("delete", "/v1/admin/keys/not-an-id", None),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD_REQUESTS)
def test_every_422_names_its_fields_in_errors(client: TestClient, method: str, path: str,
                                              body: Any) -> None:
    kwargs: dict[str, Any] = {"headers": auth("admin")}
    if isinstance(body, bytes):
        kwargs.update(content=body, headers={**auth("admin"),
                                             "content-type": "application/json"})
    elif body is not None:
        kwargs["json"] = body
    response = client.request(method, path, **kwargs)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert errors and all(e["path"] and e["message"] for e in errors)
    assert event_count(client) == 0


@pytest.mark.parametrize(("production", "public", "shown"), [
    (False, False, True), (True, False, False), (True, True, True)])
def test_production_hides_the_api_description_unless_asked(
        service: LedgerService, production: bool, public: bool, shown: bool) -> None:
    app = create_app(service, KeyRing.from_setting(KEY_SETTING), production=production,
                     public_docs=public)
    with TestClient(app) as client:
        for path in ("/docs", "/openapi.json"):
            assert client.get(path).status_code == (200 if shown else 404), path
        assert client.get("/healthz").status_code == 200


def test_client_errors_are_not_logged_as_errors(client: TestClient,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        for method, path, body in BAD_REQUESTS[:4]:
            client.request(method, path, json=body, headers=auth("admin"))
        client.delete("/v1/admin/keys/aaaaaaaaaaaa", headers=auth("admin"))
        client.post("/v1/parties", json={}, headers={"Authorization": "Bearer nope"})
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
