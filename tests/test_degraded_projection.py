"""A projection is never stuck silently: an event it cannot apply stops it alone, loudly, at the
last good position; text the read side cannot carry (NUL, lone surrogates) already in the log is
read with U+FFFD, its stored row and hash untouched (docs/reliability.md, "A degraded projection").
"""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

import projections
from ledger.integrity import chain
from ledger.integrity.verify import verify_log
from ledger.service import LedgerService
from projections import projectors as projectors_module
from projections import runner
from projections.audit import AuditProjection
from projections.projectors import Projectors
from projections.rebuild import RebuildFailed, rebuild
from projections.register_model import RegisterProjection
from projections.runner import Batch
from tests.builders import ACME, BETA, PATENT, party, patent, uscc
from tests.ledger_fixtures import auth

BAD = 3  # the position the failing projection cannot apply (the patent's registration)


class _FailsAt:
    """The real register projection, except that the event at `position` cannot be applied
    (as a bug or an unexpected value would): `error` is raised from its write, `times` times."""

    def __init__(self, position: int, error: Exception, times: int | None = None) -> None:
        self.inner = RegisterProjection()
        self.name, self.tables = self.inner.name, self.inner.tables
        self.position, self.error, self.left = position, error, times

    def reset(self) -> None:
        self.inner.reset()

    def warm(self, batch: Batch) -> None:
        self.inner.warm(batch)

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        if any(p == self.position for p, _ in batch) and self.left != 0:
            if self.left is not None:
                self.left -= 1
            self.inner.write(cur, [item for item in batch if item[0] < self.position], suffix)
            raise self.error
        self.inner.write(cur, batch, suffix)


def _wait_until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _standing(database_url: str) -> dict[str, tuple[int, str | None, int | None]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT name, position, error, failed_position"
                            " FROM projection_positions").fetchall()
    return {name: (position, error, failed) for name, position, error, failed in rows}


def _seed(client: TestClient) -> None:
    party(client, ACME)
    party(client, BETA)
    patent(client, PATENT, {ACME: "1"})  # position BAD
    party(client, uscc(7))
    party(client, uscc(8))


def _run(monkeypatch: pytest.MonkeyPatch, service: LedgerService, database_url: str,
         *chosen: Any) -> Projectors:
    """`serve`'s own runner assembly (metrics included) over the projections given."""
    monkeypatch.setattr(projectors_module, "all_projections", lambda: list(chosen))
    return Projectors(database_url, service.store, service.metrics).start()


LEDGER = "{ ledger { position projections { name position lag error } } }"


def test_an_event_a_projection_cannot_apply_stops_it_alone_and_loudly(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _seed(client)
    head = service.store.head()
    failing = _FailsAt(BAD, ValueError("no fold for this patent"))
    with caplog.at_level(logging.ERROR, logger="projections.runner"):
        running = _run(monkeypatch, service, database_url, failing, AuditProjection())
        try:
            _wait_until(lambda: _standing(database_url)["register"][1] is not None
                        and _standing(database_url)["audit"][0] == head)
        finally:
            running.stop()
    standing = _standing(database_url)
    assert standing["register"][0] == BAD - 1, "everything before the bad event is committed"
    assert standing["register"][2] == BAD
    assert f"position {BAD}" in (standing["register"][1] or "")
    assert "ValueError: no fold for this patent" in (standing["register"][1] or "")
    assert standing["audit"] == (head, None, None), "the other projection follows on"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM rm_parties").fetchone() == (2,)
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged and "register" in logged[0].getMessage() \
        and f"position {BAD}" in logged[0].getMessage()

    health = client.get("/healthz", headers={"Authorization": ""})
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "degraded" and body["position"] == head
    assert body["projections"]["register"]["position"] == BAD - 1
    assert f"position {BAD}" in body["projections"]["register"]["error"]
    assert body["projections"]["register"]["lag"] == head - BAD + 1
    assert body["projections"]["audit"] == {"position": head, "lag": 0, "error": None,
                                            "failed_position": None}
    metrics = client.get("/metrics").text
    assert 'projection_stopped{projection="register"} 1' in metrics
    assert 'projection_stopped{projection="audit"} 0' in metrics
    assert service.metrics.value("projection_stops_total", projection="register") == 1
    response = client.post("/graphql", json={"query": LEDGER}, headers=auth("auditor"))
    statuses = {p["name"]: p for p in response.json()["data"]["ledger"]["projections"]}
    assert statuses["register"]["position"] == BAD - 1
    assert statuses["register"]["lag"] == head - BAD + 1
    assert "ValueError" in statuses["register"]["error"]
    assert statuses["audit"]["error"] is None

    # The repair: a fix deployed and the process restarted, so the projection is tried again.
    party(client, uscc(9))
    running = _run(monkeypatch, service, database_url, RegisterProjection(), AuditProjection())
    try:
        _wait_until(lambda: _standing(database_url)["register"][0] == service.store.head())
    finally:
        running.stop()
    assert _standing(database_url)["register"][1:] == (None, None)
    assert client.get("/healthz", headers={"Authorization": ""}).status_code == 200
    assert 'projection_stopped{projection="register"} 0' in client.get("/metrics").text


def test_a_rebuild_of_a_stopped_projection_clears_the_stop_and_the_runner_follows_again(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "STANDBY_SECONDS", 0.1)
    monkeypatch.setattr(runner, "RESTART_MIN_SECONDS", 0.05)
    _seed(client)
    running = _run(monkeypatch, service, database_url,
                   _FailsAt(BAD, ValueError("bad")))
    try:
        _wait_until(lambda: _standing(database_url)["register"][1] is not None)
        assert rebuild(database_url, service.store, RegisterProjection()) == service.store.head()
        assert _standing(database_url)["register"][1:] == (None, None)
        party(client, uscc(9))  # followed by the live runner, which had stopped
        _wait_until(lambda: _standing(database_url)["register"][0] == service.store.head())
    finally:
        running.stop()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM rm_parties").fetchone() == (5,)
    assert client.get("/healthz", headers={"Authorization": ""}).status_code == 200


def test_a_lost_connection_is_retried_and_never_marks_a_projection_stopped(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "RESTART_MIN_SECONDS", 0.05)
    _seed(client)
    head = service.store.head()
    lost = psycopg.OperationalError("server closed the connection unexpectedly")
    running = _run(monkeypatch, service, database_url, _FailsAt(BAD, lost, times=2))
    try:
        _wait_until(lambda: _standing(database_url)["register"][0] == head)
    finally:
        running.stop()
    assert _standing(database_url)["register"] == (head, None, None)
    assert service.metrics.value("projection_restarts_total", projection="register") == 2
    assert service.metrics.value("projection_stops_total", projection="register") == 0
    assert client.get("/healthz", headers={"Authorization": ""}).status_code == 200


def test_a_rebuild_that_cannot_apply_an_event_names_it_and_leaves_the_live_tables(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(client)
    rebuild(database_url, service.store, RegisterProjection())
    before = _tables(database_url)
    with pytest.raises(RebuildFailed, match=f"position {BAD} .*ValueError: bad"):
        rebuild(database_url, service.store, _FailsAt(BAD, ValueError("bad")))
    assert _tables(database_url) == before
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE '%_rebuild'"
                            ).fetchone() == (0,), "the shadow tables are dropped"
    # The command says the same and exits non-zero.
    from api import cli

    monkeypatch.setenv("LEDGER_DATABASE_URL", database_url)
    monkeypatch.setattr(projections, "all_projections",
                        lambda: [_FailsAt(BAD, ValueError("bad"))])
    assert cli.main(["rebuild", "register"]) == 1
    assert f"cannot apply the event at position {BAD}" in capsys.readouterr().err
    assert _tables(database_url) == before


def _tables(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(database_url) as conn:
        return {t: sorted(map(str, conn.execute(f"SELECT * FROM {t}").fetchall()))
                for t in RegisterProjection.tables}  # type: ignore[misc]


# --- text the read side cannot carry, already in the log -----------------------------------

NAME = "Ac\\u0000me\\ud800"  # as JSON escapes: a NUL, then a lone surrogate
READ_AS = "Ac\ufffdme\ufffd"


def _plant(database_url: str, position: int, name: str) -> tuple[bytes, bytes]:
    """As the database owner, rewrite the party name of the stored event at `position` (the
    log's last) and link it anew, as an older log that stored such text holds it: a genuine
    stored event with a valid link. Returns its state and link."""
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER TABLE ledger_events DISABLE TRIGGER ledger_events_append_only")
        conn.execute("ALTER TABLE ledger_chain DISABLE TRIGGER ledger_chain_append_only")
        row = conn.execute("SELECT originator_id, originator_version, topic, state"
                           " FROM ledger_events WHERE notification_id = %s", (position,)
                           ).fetchone()
        assert row is not None
        originator_id, version, topic, state = row
        state = bytes(state).replace(f'"name":"Party {BETA}"'.encode(),
                                     f'"name":"{name}"'.encode())
        assert name.encode() in state
        previous = conn.execute("SELECT hash FROM ledger_chain WHERE position = %s",
                                (position - 1,)).fetchone()
        assert previous is not None
        link = chain.link(bytes(previous[0]), position, originator_id, version, topic, state)
        conn.execute("UPDATE ledger_events SET state = %s WHERE notification_id = %s",
                     (state, position))
        conn.execute("UPDATE ledger_chain SET hash = %s WHERE position = %s", (link, position))
        conn.execute("ALTER TABLE ledger_events ENABLE TRIGGER ledger_events_append_only")
        conn.execute("ALTER TABLE ledger_chain ENABLE TRIGGER ledger_chain_append_only")
    return state, link


def _stored(database_url: str, position: int) -> tuple[bytes, bytes]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT e.state, c.hash FROM ledger_events e JOIN ledger_chain c"
                           " ON c.position = e.notification_id WHERE e.notification_id = %s",
                           (position,)).fetchone()
    assert row is not None
    return bytes(row[0]), bytes(row[1])


def test_nul_and_lone_surrogates_in_the_log_are_projected_as_u_fffd_and_the_event_kept(
        client: TestClient, service: LedgerService, database_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    party(client, ACME)
    party(client, BETA)
    planted = _plant(database_url, 2, NAME)
    assert verify_log(database_url).holds
    patent(client, PATENT, {ACME: "1"})  # posted after it: projected too
    with caplog.at_level(logging.WARNING, logger="ledger.storage.store"):
        running = Projectors(database_url, service.store, service.metrics).start()
        try:
            _wait_until(lambda: set(_standing(database_url).values())
                        == {(service.store.head(), None, None)})
        finally:
            running.stop()
    assert any("position 2" in r.getMessage() and "U+FFFD" in r.getMessage()
               for r in caplog.records), "the position of the replaced text is logged"

    query = "query($id: String!) { party(id: $id) { name } }"
    response = client.post("/graphql", json={"query": query, "variables": {"id": BETA}},
                           headers=auth("auditor"))
    assert response.json()["data"]["party"]["name"] == READ_AS
    query = "query($n: String!) { patent(number: $n) { title } }"
    response = client.post("/graphql", json={"query": query, "variables": {"n": PATENT}},
                           headers=auth("auditor"))
    assert response.json()["data"]["patent"] is not None, "later events are projected"
    events = client.get("/v1/events", headers=auth("auditor"))
    assert events.status_code == 200
    assert events.json()["events"][1]["payload"]["name"] == READ_AS
    response = client.post("/graphql", json={"query": "{ events { edges { payload } } }"},
                           headers=auth("auditor"))
    assert response.status_code == 200 and "errors" not in response.json()
    assert response.json()["data"]["events"]["edges"][1]["payload"]["name"] == READ_AS

    for projection in projections.all_projections():
        assert rebuild(database_url, service.store, projection) == service.store.head()
    assert _stored(database_url, 2) == planted, "the stored event and its hash are untouched"
    assert verify_log(database_url).holds


# --- an event this code cannot read at all ------------------------------------------------


def _retopic(database_url: str, position: int, topic: str) -> None:
    """As the database owner, give the stored event at `position` a kind this code does not
    know, as a newer version of the ledger may have written before a rollback."""
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER TABLE ledger_events DISABLE TRIGGER ledger_events_append_only")
        conn.execute("UPDATE ledger_events SET topic = %s WHERE notification_id = %s",
                     (topic, position))
        conn.execute("ALTER TABLE ledger_events ENABLE TRIGGER ledger_events_append_only")


def test_an_event_no_projection_can_read_stops_them_all_at_it_loudly(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    _seed(client)
    _retopic(database_url, BAD, "ledger.law.events:FromAFutureVersion")
    with caplog.at_level(logging.ERROR, logger="projections.runner"):
        running = _run(monkeypatch, service, database_url, RegisterProjection(),
                       AuditProjection())
        try:
            _wait_until(lambda: all(_standing(database_url)[name][1] is not None
                                    for name in ("register", "audit")))
        finally:
            running.stop()
    standing = {name: row for name, row in _standing(database_url).items()
                if name in ("register", "audit")}
    assert {name: (position, failed) for name, (position, _, failed) in standing.items()} == {
        "register": (BAD - 1, BAD), "audit": (BAD - 1, BAD)}, "every event before it applied"
    assert all(f"position {BAD}" in (error or "") for _, error, _ in standing.values())
    assert any("STOPPED" in r.getMessage() for r in caplog.records)
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "degraded"
