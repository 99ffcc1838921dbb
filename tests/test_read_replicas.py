"""Reads served from a real hot standby (issue 21 item 1; api/read_replicas.py).

The standby is a streaming copy of the tests' own cluster (`pg_basebackup -R`,
tests/replica_fixtures.py). An app with LEDGER_READ_DATABASE_URL pointing at it answers
GraphQL and `GET /v1/events` from it, and must answer what the primary answers; a client's
X-Ledger-Min-Position is honoured (by the replica once it has the position, else by the
primary); a replica that stops is left out while reads go on.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import KeyRing
from api.read_replicas import HEADER, LEFT_OUT_WITHIN, MAX_BACKOFF, SERVED_BY
from ledger.service import LedgerService
from ledger.storage.standby import HotStandby
from projections.projectors import Projectors
from tests.builders import cn_patent, licence, party, patent, pledge, transfer, uscc
from tests.ledger_fixtures import KEY_SETTING, auth, wait_projected
from tests.replica_fixtures import standby  # noqa: F401  (fixture)

UNI, SME, BIG, BANK = uscc(60), uscc(61), uscc(62), uscc(63)
NUMBERS = [cn_patent(2016, 1, 700 + i) for i in range(3)]
QUERIES = {
    "patent": ("""query($n: String!) { patent(number: $n) { number status owners { share
                  party { id name } } licences { dealId licenceKind startsOn endsOn }
                  pledge { dealId } history { edges { node { position kind dealId } } } } }""",
               {"n": NUMBERS[0]}),
    "events": ("""{ events(first: 50) { edges { cursor node { position dealId kind effectiveOn
                  patents parties payload } } } }""", {}),
    "indicators": ("""{ indicators(from: "2021-01-01", to: "2022-12-31", granularity: "year") {
                      indicator period dimension value count patents amount } }""", {}),
    "ledger": ("{ ledger { position replicaLag projections { name position lag } } }", {}),
}
WAIT = 0.5  # LEDGER_MIN_POSITION_WAIT for these apps: short, the tests wait it out


def post(client: TestClient, body: dict[str, Any]) -> int:
    response = client.post("/v1/deals", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["position"])


def scenario(client: TestClient) -> None:
    party(client, UNI, kind="university", region="CN-34")
    party(client, SME, size="small", region="CN-34")
    party(client, BIG, size="large", region="CN-11")
    party(client, BANK, kind="bank", region="CN-11")
    for number in NUMBERS:
        patent(client, number, {UNI: "1"}, filed_on="2016-03-01", granted_on="2018-05-01")
    post(client, transfer("T1", [NUMBERS[1]], [UNI], {SME: "1"}, "2021-03-01"))
    post(client, licence("L1", [NUMBERS[0]], [UNI], BIG, starts_on="2021-05-01",
                         ends_on="2025-04-30"))
    post(client, pledge("P1", [NUMBERS[0]], [UNI], BANK, "2022-06-01", "2024-06-01"))


def ask(client: TestClient, name: str, headers: dict[str, str] | None = None
        ) -> tuple[Any, str]:
    """The data of one of QUERIES (errors fail the test) and the server that answered it."""
    query, variables = QUERIES[name]
    response = client.post("/graphql", json={"query": query, "variables": variables},
                           headers={**auth("regulator"), **(headers or {})})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"], response.headers[SERVED_BY]


def replica_app(service: LedgerService, *urls: str) -> Any:
    return create_app(service, KeyRing.from_setting(KEY_SETTING), read_urls=urls,
                      min_position_wait=WAIT)


@pytest.fixture
def on_replica(service: LedgerService, database_url: str, standby: HotStandby,  # noqa: F811
               ) -> Iterator[TestClient]:
    """A client of an app that reads from the standby (its database replayed first)."""
    standby.wait_caught_up()
    with TestClient(replica_app(service, standby.database_url(database_url)),
                    headers=auth("platform")) as client:
        yield client


def caught_up(client: TestClient, projectors: Projectors, replica: HotStandby) -> None:
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    replica.wait_caught_up()


def test_the_replica_answers_what_the_primary_answers(
        client: TestClient, on_replica: TestClient, projectors: Projectors,
        standby: HotStandby) -> None:  # noqa: F811
    scenario(client)
    caught_up(client, projectors, standby)
    for name in QUERIES:
        on_primary, primary_server = ask(client, name)
        replicated, server = ask(on_replica, name)
        assert (primary_server, server) == ("primary", "replica-1")
        assert replicated == on_primary, name
    ledger = ask(on_replica, "ledger")[0]["ledger"]
    assert ledger["replicaLag"] == 0 and ledger["position"] > 0
    assert ledger["position"] == ask(client, "ledger")[0]["ledger"]["position"]
    log = [c.get("/v1/events", params={"limit": 1000}, headers=auth("auditor"))
           for c in (client, on_replica)]
    assert [r.headers[SERVED_BY] for r in log] == ["primary", "replica-1"]
    assert log[0].json() == log[1].json() and log[0].json()["events"]


def test_min_position_waits_for_the_replica_else_reads_the_primary(
        on_replica: TestClient, projectors: Projectors, standby: HotStandby) -> None:  # noqa: F811
    scenario(on_replica)  # posted through the replica app: writes go to the primary
    caught_up(on_replica, projectors, standby)
    reached = on_replica.app.state.service.store.head()  # type: ignore[attr-defined]
    data, server = ask(on_replica, "patent", {HEADER: str(reached)})
    assert server == "replica-1" and data["patent"]["pledge"]["dealId"] == "P1"

    with psycopg.connect(standby.url(), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")  # the replica stops following
    try:
        written = post(on_replica, {"deal_id": "R1", "kind": "pledge_release",
                                    "effective_on": "2022-09-01", "patents": [NUMBERS[0]],
                                    "pledge": "P1"})
        wait_projected(projectors, written)
        stale, server = ask(on_replica, "patent")  # no header: the replica, behind
        assert server == "replica-1"
        assert stale["patent"]["pledge"]["dealId"] == "P1"
        assert ask(on_replica, "ledger")[0]["ledger"]["replicaLag"] >= 1
        fresh, server = ask(on_replica, "patent", {HEADER: str(written)})
        assert server == "primary"  # the replica did not reach it within the bound
        history = [e["node"]["dealId"] for e in fresh["patent"]["history"]["edges"]]
        assert "R1" in history and "R1" not in [
            e["node"]["dealId"] for e in stale["patent"]["history"]["edges"]]
        assert ask(on_replica, "ledger", {HEADER: str(written)})[0]["ledger"]["replicaLag"] == 0
    finally:
        with psycopg.connect(standby.url(), autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
    standby.wait_caught_up()
    again, server = ask(on_replica, "patent", {HEADER: str(written)})
    assert server == "replica-1" and again == fresh


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", " ", "0x10", str(2**63), "1e3"])
def test_a_bad_min_position_is_refused_with_422(on_replica: TestClient, value: str) -> None:
    for response in (
        on_replica.post("/graphql", json={"query": "{ ledger { position } }"},
                        headers={**auth("regulator"), HEADER: value}),
        on_replica.get("/v1/events", headers={**auth("auditor"), HEADER: value}),
    ):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/bad-min-position")
        assert HEADER in response.json()["detail"]


def test_a_replica_that_stops_is_left_out_and_reads_go_on(
        service: LedgerService, client: TestClient, projectors: Projectors,
        database_url: str, postgres_server_url: str, standby: HotStandby) -> None:  # noqa: F811
    scenario(client)
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-test-standby-"))
    second = HotStandby(postgres_server_url, data_dir)
    try:
        second.start()
        caught_up(client, projectors, standby)
        second.wait_caught_up()
        expected = ask(client, "patent")[0]
        urls = (standby.database_url(database_url), second.database_url(database_url))
        with TestClient(replica_app(service, *urls), headers=auth("platform")) as reader:
            router = reader.app.state.read_router  # type: ignore[attr-defined]
            servers = {ask(reader, "patent")[1] for _ in range(4)}
            assert servers == {"replica-1", "replica-2"}  # round-robin over both
            second.stop()
            deadline = time.monotonic() + LEFT_OUT_WITHIN + 2
            while router.replicas[1].up and time.monotonic() < deadline:
                assert ask(reader, "patent")[0] == expected  # reads go on meanwhile
                time.sleep(0.1)
            assert not router.replicas[1].up, "the stopped replica was not left out"
            after = [ask(reader, "patent") for _ in range(6)]
            assert all(data == expected for data, _ in after)
            assert {server for _, server in after} == {"replica-1"}
            second.start()  # back: retried after its back-off, then read from again
            deadline = time.monotonic() + MAX_BACKOFF + LEFT_OUT_WITHIN + 5
            while not router.replicas[1].up and time.monotonic() < deadline:
                time.sleep(0.2)
            assert router.replicas[1].up, "the restarted replica was not taken back"
            assert "replica-2" in {ask(reader, "patent")[1] for _ in range(4)}
    finally:
        second.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_with_no_replica_reachable_the_primary_answers(
        service: LedgerService, client: TestClient, projectors: Projectors) -> None:
    scenario(client)
    wait_projected(projectors, service.store.head())
    nowhere = "postgresql://postgres@127.0.0.1:1/nothing"  # port 1: refused at once
    with TestClient(replica_app(service, nowhere), headers=auth("platform")) as reader:
        assert ask(reader, "patent") == ask(client, "patent")
        position = service.store.head()
        assert ask(reader, "ledger", {HEADER: str(position)})[1] == "primary"
        events = reader.get("/v1/events", headers=auth("auditor"))
        assert events.status_code == 200 and events.headers[SERVED_BY] == "primary"
