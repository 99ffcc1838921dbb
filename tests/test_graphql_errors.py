"""GraphQL errors: every bad argument is BAD_USER_INPUT naming the argument, production
suggests no field names, and client errors are logged at INFO without a traceback."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import KeyRing
from ledger.service import LedgerService
from projections.queries import STATEMENT_TIMEOUT_MS
from tests.builders import PATENT
from tests.ledger_fixtures import KEY_SETTING, auth


def ask(client: TestClient, query: str, variables: dict[str, Any] | None = None,
        role: str = "auditor") -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables or {}},
                           headers=auth(role))
    assert response.status_code == 200, response.text
    return dict(response.json())


# (query, the argument named); each is the mistake a client can make with that argument.
BAD_ARGUMENTS = [
    (f'{{ patent(number: "{PATENT}", asKnownAt: "2021-06-01T00:00:00") {{ number }} }}',
     "asKnownAt"),
    (f'{{ patent(number: "{PATENT}", asKnownAt: "yesterday") {{ number }} }}', "asKnownAt"),
    (f'{{ patent(number: "{PATENT}", asOf: "2021-13-45") {{ number }} }}', "asOf"),
    ('{ party(id: "x", asOf: "2021-02-30") { id } }', "asOf"),
    ("{ patents(first: -1) { edges { cursor } } }", "first"),
    ("{ patents(first: 0) { edges { cursor } } }", "first"),
    ("{ patents(first: 101) { edges { cursor } } }", "first"),
    ("{ patents(first: 99999999999) { edges { cursor } } }", "first"),
    ('{ patents(first: "ten") { edges { cursor } } }', "first"),
    ('{ patents(after: "not-a-cursor") { edges { cursor } } }', "after"),
    ('{ events(after: "%%%") { edges { cursor } } }', "after"),
    ('{ pledges(after: "AAAA") { edges { cursor } } }', "after"),
    ('{ anomalies(first: 1000) { edges { cursor } } }', "first"),
    ('{ indicators(from: "2021-01-01", to: "2021-12-31", granularity: "fortnight") '
     "{ value } }", "granularity"),
    ('{ indicators(from: "2021-12-31", to: "2021-01-01") { value } }', "from"),
    ('{ indicators(from: "2021-01-01", to: "2021-12-31", asKnownAt: "2021-06-01 10:00") '
     "{ value } }", "asKnownAt"),
    ('{ indicators(from: "01/01/2021", to: "2021-12-31") { value } }', "from"),
    ('{ blacklist(asOf: "soon") { party { id } } }', "asOf"),
]


@pytest.mark.parametrize(("query", "argument"), BAD_ARGUMENTS)
def test_a_bad_argument_is_bad_user_input_naming_it(client: TestClient, query: str,
                                                    argument: str) -> None:
    errors = ask(client, query, role="regulator")["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", errors
    assert errors[0]["extensions"]["argument"] == argument
    assert argument in errors[0]["message"]
    assert "offset-naive" not in str(errors) and "Traceback" not in str(errors)


def test_a_bad_variable_is_bad_user_input_naming_it(client: TestClient) -> None:
    query = ('query($t: DateTime) { patent(number: "' + PATENT
             + '", asKnownAt: $t) { number } }')
    for value in ("2021-06-01T00:00:00", "not a time"):
        errors = ask(client, query, {"t": value})["errors"]
        assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "t"}, errors
    aware = ask(client, query, {"t": "2021-06-01T00:00:00+08:00"})
    assert "errors" not in aware and aware["data"] == {"patent": None}


def test_production_suggests_no_names(service: LedgerService) -> None:
    app = create_app(service, KeyRing.from_setting(KEY_SETTING), production=True)
    with TestClient(app) as client:
        for query, variables in [("{ anomalie { edges { cursor } } }", None),
                                 ("{ patents(frist: 1) { edges { cursor } } }", None),
                                 ("{ events(filter: {knd: \"x\"}) { edges { cursor } } }", None),
                                 ("query($f: EventFilterInput) { events(filter: $f) "
                                  "{ edges { cursor } } }", {"f": {"knd": "x"}}),
                                 ("{ __schema { types { name } } }", None)]:
            errors = ask(client, query, variables)["errors"]
            assert errors and "Did you mean" not in str(errors), errors
    with TestClient(create_app(service, KeyRing.from_setting(KEY_SETTING))) as client:
        errors = ask(client, "{ anomalie { edges { cursor } } }")["errors"]
        assert "Did you mean" in errors[0]["message"]  # development still helps


def test_client_errors_are_logged_at_info_without_a_traceback(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        for query, _ in BAD_ARGUMENTS[:6]:
            ask(client, query, role="regulator")
        ask(client, "{ anomalies { edges { cursor } } }", role="platform")  # FORBIDDEN
        ask(client, "{ nothing }")
    graphql = [r for r in caplog.records if r.name.startswith(("ledger.graphql", "strawberry"))]
    assert graphql, "client errors are still logged"
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in graphql), [
        (r.name, r.levelname, r.getMessage()) for r in graphql]


def test_a_server_fault_is_logged_with_its_traceback_and_its_text_stays_inside(
        client: TestClient, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken() -> int:
        raise RuntimeError("connection to 10.0.0.7 refused (internal detail)")

    monkeypatch.setattr(client.app.state.reads, "head", broken)  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO):
        errors = ask(client, "{ ledger { position } }")["errors"]
    assert errors[0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "10.0.0.7" not in str(errors)
    faults = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(faults) == 1 and faults[0].exc_info is not None
    assert "10.0.0.7" in faults[0].getMessage()


def test_a_read_stopped_at_the_read_limit_is_said_so_not_a_fault(
        client: TestClient, database_url: str, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The read pool stops any statement after STATEMENT_TIMEOUT_MS; PostgreSQL's own
    cancellation, from a real server, reaches the client as the limit it is."""
    async def slow() -> int:
        async with await psycopg.AsyncConnection.connect(
                database_url, options="-c statement_timeout=20") as conn:
            await conn.execute("SELECT pg_sleep(2)")
        return 0

    monkeypatch.setattr(client.app.state.reads, "head", slow)  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO):
        errors = ask(client, "{ ledger { position } }")["errors"]
    assert errors[0]["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": "read_seconds",
                                       "max": STATEMENT_TIMEOUT_MS / 1000}
    assert "ran past its limit of 5 s" in errors[0]["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_rest_read_stopped_at_the_read_limit_answers_503_naming_it(
        client: TestClient, database_url: str, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`GET /v1/events` under the same limit: a problem saying which limit (not a 500), with
    Retry-After, logged as a warning, not an error."""
    async def slow(read: Any) -> Any:
        async with await psycopg.AsyncConnection.connect(
                database_url, options="-c statement_timeout=20") as conn:
            await conn.execute("SELECT pg_sleep(2)")

    monkeypatch.setattr(client.app.state.reads, "run", slow)  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO):
        response = client.get("/v1/events", headers=auth("auditor"))
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert body["type"].endswith("/read-limit")
    assert (body["limit"], body["max"]) == ("read_seconds", STATEMENT_TIMEOUT_MS / 1000)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r for r in caplog.records if r.levelno == logging.WARNING
            and "read stopped at its limit" in r.getMessage()]
