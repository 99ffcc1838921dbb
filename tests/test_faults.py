"""Fault survival: the API killed with SIGKILL under load loses no acknowledged deal and stores
none twice once clients retry (idempotency by deal_id). Counts are printed (-s to see them).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg
import pytest

from ledger.storage.embedded_postgres import EmbeddedPostgres
from tests.builders import cn_patent, uscc

pytestmark = pytest.mark.slow

KEY = "fault-platform-key-0123456789"
CLIENTS = 6
DEALS_PER_CLIENT = 120
KILLS = 3
OUTAGE_SECONDS = 8.0


class Api:
    """`patent-ledger serve --no-projections` on the test database, restartable."""

    def __init__(self, database_url: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "LEDGER_DATABASE_URL": database_url,
                    "LEDGER_PORT": str(self.port), "LEDGER_API_KEYS": f"platform:{KEY}"}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve",
                                         "--no-projections"], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError("the API did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _register(api: Api, owner: str, licensees: list[str], number: str) -> None:
    """The parties and the one patent the deals of a fault test license."""
    headers = {"Authorization": f"Bearer {KEY}"}
    for pid in (owner, *licensees):
        assert httpx.post(api.url + "/v1/parties", headers=headers, json={
            "id": pid, "name": pid, "kind": "enterprise", "size": "small"}).status_code == 201
    assert httpx.post(api.url + "/v1/patents", headers=headers, json={
        "number": number, "title": "Valve", "filed_on": "2016-03-01",
        "granted_on": "2018-06-01", "owners": [{"party": owner, "share": "1"}]}
    ).status_code == 201


def _stored_licences(database_url: str) -> Counter[str]:
    with psycopg.connect(database_url) as conn:
        return Counter(dict(conn.execute(
            "SELECT deal_id, count(*) FROM (SELECT convert_from(state, 'UTF8')::jsonb"
            " ->> 'deal_id' AS deal_id FROM ledger_events WHERE topic = 'LicenceGranted') x"
            " GROUP BY 1").fetchall()))


def test_sigkill_under_load_loses_no_acknowledged_deal_and_doubles_none(
        database_url: str) -> None:
    owner, licensees = uscc(90), [uscc(91 + i) for i in range(CLIENTS)]
    number = cn_patent(2016, 1, 990)
    api = Api(database_url)
    api.start()
    headers = {"Authorization": f"Bearer {KEY}"}
    _register(api, owner, licensees, number)

    acknowledged: Counter[int] = Counter()  # 201 or 200 per client
    retries = Counter[int]()

    def client(lane: int) -> None:
        with httpx.Client(base_url=api.url, headers=headers, timeout=5) as http:
            for n in range(DEALS_PER_CLIENT):
                body = {"deal_id": f"F-{lane}-{n}", "kind": "licence",
                        "effective_on": "2020-01-01", "patents": [number],
                        "licensors": [owner], "licensee": licensees[lane],
                        "licence_kind": "ordinary", "territory": "CN", "field": "*",
                        "starts_on": "2020-01-01", "ends_on": "2025-12-31",
                        "fee": {"mode": "royalty", "rate": "0.02"}}
                while True:  # a client that was not answered posts the same body again
                    try:
                        response = http.post("/v1/deals", json=body)
                    except httpx.HTTPError:
                        retries[lane] += 1
                        time.sleep(0.05)
                        continue
                    if response.status_code in (200, 201):
                        acknowledged[lane] += 1
                        break
                    assert response.status_code == 503, response.text
                    retries[lane] += 1
                    time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(lane,)) for lane in range(CLIENTS)]
    for thread in threads:
        thread.start()
    kills = 0
    try:
        for _ in range(KILLS):  # kill while deals are in flight, then start again
            target = sum(acknowledged.values()) + CLIENTS * DEALS_PER_CLIENT // (KILLS + 2)
            while sum(acknowledged.values()) < target and any(t.is_alive() for t in threads):
                time.sleep(0.01)
            api.kill()
            kills += 1
            time.sleep(0.3)
            api.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        api.stop()
    stored = _stored_licences(database_url)
    expected = {f"F-{lane}-{n}" for lane in range(CLIENTS) for n in range(DEALS_PER_CLIENT)}
    print(f"\nSIGKILLed the API {kills} times under {CLIENTS} clients; "
          f"{sum(acknowledged.values())} deals acknowledged, {sum(retries.values())} retries, "
          f"{len(stored)} stored, {sum(1 for c in stored.values() if c > 1)} doubled, "
          f"{len(expected - set(stored))} lost")
    assert kills == KILLS
    assert sum(acknowledged.values()) == len(expected)
    assert set(stored) == expected, "an acknowledged deal is missing from the log"
    assert all(count == 1 for count in stored.values()), "a deal was stored twice"


def test_postgres_stopped_under_load_gives_503_then_recovers_losing_nothing(
        request: pytest.FixtureRequest) -> None:
    """Its own cluster, stopped for eight seconds while a client posts: meanwhile a posting
    waits at most 5 s for the writer and hears 503 with Retry-After; afterwards the API recovers
    by itself and every acknowledged deal is in the log once."""
    workdir = Path(tempfile.mkdtemp(prefix="ledger-faults-"))
    workdir.chmod(0o711)  # the postgres OS user runs the server when tests run as root
    cluster = EmbeddedPostgres(workdir / "pg", fsync=True)
    request.addfinalizer(lambda: (cluster.stop(), shutil.rmtree(workdir, ignore_errors=True)))
    cluster.start()
    url = cluster.create_database("faults")
    api = Api(url)
    api.start()
    headers = {"Authorization": f"Bearer {KEY}"}
    owner, licensee = uscc(95), uscc(96)
    number = cn_patent(2016, 1, 995)
    _register(api, owner, [licensee], number)
    acknowledged: list[str] = []
    unavailable: list[str | None] = []  # the Retry-After of each 503
    stop = threading.Event()

    def client() -> None:
        n = 0
        with httpx.Client(base_url=api.url, headers=headers, timeout=10) as http:
            while not stop.is_set():
                body = {"deal_id": f"P-{n}", "kind": "licence", "effective_on": "2020-01-01",
                        "patents": [number], "licensors": [owner], "licensee": licensee,
                        "licence_kind": "ordinary", "territory": "CN", "field": "*",
                        "starts_on": "2020-01-01", "ends_on": "2025-12-31",
                        "fee": {"mode": "royalty", "rate": "0.02"}}
                response = http.post("/v1/deals", json=body)
                if response.status_code in (200, 201):
                    acknowledged.append(body["deal_id"])
                    n += 1
                else:
                    assert response.status_code == 503, response.text
                    unavailable.append(response.headers.get("Retry-After"))
                    time.sleep(0.05)  # the same body again

    thread = threading.Thread(target=client)
    thread.start()
    try:
        time.sleep(1.0)
        before = len(acknowledged)
        cluster.stop()
        time.sleep(OUTAGE_SECONDS)
        cluster.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < before + 50 and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        thread.join(timeout=30)
    finally:
        stop.set()
        api.stop()
    stored = _stored_licences(url)
    print(f"\nPostgreSQL stopped for {OUTAGE_SECONDS:g} s under load: {len(unavailable)} "
          f"answers 503, "
          f"{len(acknowledged)} deals acknowledged, {len(stored)} stored, "
          f"{len(set(acknowledged) - set(stored))} lost")
    assert unavailable and all(r is not None and r.isdigit() for r in unavailable)
    assert len(acknowledged) >= before + 50, "the API did not recover by itself"
    assert set(acknowledged) <= set(stored), "an acknowledged deal is missing"
    assert all(count == 1 for count in stored.values())
