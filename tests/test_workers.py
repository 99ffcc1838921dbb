"""`patent-ledger serve --workers N` (issue 21): N API processes on one port, one log.

Every test here runs the real command (tests/test_serve.py's Server: the embedded cluster, the
projector child, the checkpointer, the workers) and talks to it over HTTP. /healthz names the
worker that answered, so a client can be pinned to one: a fresh connection is opened until
/healthz on it names the wanted worker, and the request follows on that same connection.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builders import cn_patent, licence, transfer, uscc
from tests.ledger_fixtures import KEY_SETTING, KEYS
from tests.test_serve import Server, _free_port, data_dir, serve_data_dir  # noqa: F401

CLIENTS = 4  # concurrent posters, half pinned to each worker
DEALS_PER_CLIENT = 25
DUPLICATES = 8  # deals posted to both workers at once
WITHIN = 30.0  # seconds any eventual state may take (the stated bounds are 2 s or less)


def auth(role: str, key: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key or KEYS[role]}"}


@contextmanager
def pinned(server: Server, worker: int) -> Iterator[httpx.Client]:
    """A keep-alive client whose one connection is served by `worker`."""
    for _ in range(200):
        client = httpx.Client(base_url=server.url, timeout=30,
                              limits=httpx.Limits(max_connections=1))
        if client.get("/healthz").json().get("worker") == worker:
            try:
                yield client
            finally:
                client.close()
            return
        client.close()
    raise AssertionError(f"no connection reached worker {worker}")


def on_worker(server: Server, worker: int, method: str, path: str,
              **kwargs: Any) -> httpx.Response:
    with pinned(server, worker) as client:
        return client.request(method, path, **kwargs)


def eventually(check: Callable[[], bool], what: str, within: float = WITHIN) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:.0f} s: {what}")
        time.sleep(0.1)


def all_events(server: Server) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    with httpx.Client(base_url=server.url, timeout=30, headers=auth("auditor")) as client:
        while True:
            page = client.get("/v1/events", params={"after": after, "limit": 1000}).json()
            events += page["events"]
            if not page["has_more"]:
                return events
            after = page["next_after"]


def worker_pids(server: Server) -> dict[int, int]:
    """The pid of each worker's latest start, from serve's log."""
    found: dict[int, int] = {}
    for line in list(server.output):
        match = re.search(r"API worker (\d+) started \(pid (\d+)\)", line)
        if match:
            found[int(match.group(1))] = int(match.group(2))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and \
        Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"


@pytest.fixture(scope="module")
def module_dir() -> Iterator[Path]:
    with serve_data_dir() as path:
        yield path


@pytest.fixture(scope="module")
def two_workers(module_dir: Path) -> Iterator[Server]:
    server = Server(module_dir, _free_port(), ("--workers", "2"), LEDGER_API_KEYS=KEY_SETTING)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _owners(server: Server, count: int, first: int) -> list[tuple[str, str]]:
    """`count` owners with a patent each, and the licensee uscc(999), registered on worker 1."""
    owners = []
    with pinned(server, 1) as client:
        for body in [{"id": uscc(999), "name": "Licensee", "kind": "enterprise"}]:
            assert client.post("/v1/parties", json=body, headers=auth("platform")
                               ).status_code in (200, 201)
        for n in range(first, first + count):
            owner, number = uscc(n), cn_patent(2018, 1, n)
            assert client.post("/v1/parties", json={"id": owner, "name": f"Owner {n}",
                                                    "kind": "enterprise"},
                               headers=auth("platform")).status_code == 201
            assert client.post("/v1/patents", json={
                "number": number, "title": f"Patent {n}", "filed_on": "2018-07-20",
                "granted_on": "2019-01-08", "owners": [{"party": owner, "share": "1"}]},
                headers=auth("platform")).status_code == 201, number
            owners.append((owner, number))
    return owners


def test_writes_from_two_workers_go_into_one_log(two_workers: Server,
                                                  module_dir: Path) -> None:
    """Several clients post at once, half through each worker: every deal is stored once,
    positions run without a gap, and `patent-ledger verify` finds the chain whole."""
    owners = _owners(two_workers, CLIENTS, first=1)
    before = len(all_events(two_workers))

    def post(client_no: int) -> list[int]:
        owner, number = owners[client_no]
        with pinned(two_workers, 1 + client_no % 2) as client:
            return [client.post("/v1/deals", headers=auth("platform"), json=licence(
                f"c{client_no}-d{n}", [number], [owner], uscc(999), kind="ordinary",
                starts_on="2020-01-01", ends_on="2021-12-31")).status_code
                for n in range(DEALS_PER_CLIENT)]

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = [s for answers in pool.map(post, range(CLIENTS)) for s in answers]
    assert statuses == [201] * (CLIENTS * DEALS_PER_CLIENT)

    events = all_events(two_workers)
    assert [e["position"] for e in events] == list(range(1, len(events) + 1)), "no gap"
    deals = [e["deal_id"] for e in events[before:]]
    assert sorted(deals) == sorted(f"c{c}-d{n}" for c in range(CLIENTS)
                                   for n in range(DEALS_PER_CLIENT)), "none lost or doubled"

    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    verified = subprocess.run([sys.executable, "-m", "api.cli", "verify"], capture_output=True,
                              text=True, timeout=120, env={**env, "LEDGER_DATA_DIR":
                                                           str(module_dir)})
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"the chain holds: {len(events)} events, {len(events)} linked" in verified.stdout


def test_one_idempotency_key_posted_to_both_workers_at_once_stores_one_event(
        two_workers: Server) -> None:
    owners = _owners(two_workers, DUPLICATES, first=101)
    before = len(all_events(two_workers))
    with pinned(two_workers, 1) as first, pinned(two_workers, 2) as second:
        for n, (owner, number) in enumerate(owners):
            deal = transfer(f"dup-{n}", [number], [owner], {uscc(999): "1"})
            start = threading.Barrier(2)

            def post(client: httpx.Client, deal: dict[str, Any] = deal,
                     start: threading.Barrier = start) -> httpx.Response:
                start.wait()
                return client.post("/v1/deals", json=deal, headers=auth("platform"))

            with ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(post, (first, second)))
            assert sorted(a.status_code for a in answers) == [200, 201]
            assert answers[0].json() == answers[1].json(), "the same answer"
            assert answers[0].json()["deal_id"] == f"dup-{n}"
    stored = [e for e in all_events(two_workers)[before:]
              if (e["deal_id"] or "").startswith("dup-")]
    assert len(stored) == DUPLICATES


def test_a_key_issued_or_revoked_through_one_worker_counts_on_the_other(
        two_workers: Server) -> None:
    """The key ring is refreshed from `api_keys` by every worker (within 2 s)."""
    issued = on_worker(two_workers, 1, "POST", "/v1/admin/keys", json={"role": "auditor"},
                       headers=auth("admin"))
    assert issued.status_code == 201
    key, key_id = issued.json()["key"], issued.json()["key_id"]
    eventually(lambda: on_worker(two_workers, 2, "GET", "/v1/events",
                                 headers=auth("auditor", key)).status_code == 200,
               "the new key accepted by worker 2")

    revoked = on_worker(two_workers, 1, "DELETE", f"/v1/admin/keys/{key_id}",
                        headers=auth("admin"))
    assert revoked.status_code == 200
    eventually(lambda: on_worker(two_workers, 2, "GET", "/v1/events",
                                 headers=auth("auditor", key)).status_code == 401,
               "the revoked key refused by worker 2")
    refused = on_worker(two_workers, 2, "GET", "/v1/events", headers=auth("auditor", key))
    assert f"{key_id} was revoked" in refused.json()["detail"]
    assert on_worker(two_workers, 2, "GET", "/v1/events",
                     headers=auth("auditor")).status_code == 200, "other keys go on"


def test_a_worker_that_dies_is_started_again(two_workers: Server) -> None:
    killed = worker_pids(two_workers)[1]
    os.kill(killed, signal.SIGKILL)
    eventually(lambda: worker_pids(two_workers)[1] != killed, "worker 1 started again")
    assert any(f"API worker 1 (pid {killed}) stopped" in line for line in two_workers.output)
    eventually(lambda: on_worker(two_workers, 1, "GET", "/healthz").status_code == 200,
               "the new worker 1 answers")
    owner, number = _owners(two_workers, 1, first=201)[0]
    answer = on_worker(two_workers, 1, "POST", "/v1/deals", headers=auth("platform"),
                       json=transfer("after-restart", [number], [owner], {uscc(999): "1"}))
    assert answer.status_code == 201


def test_sigterm_stops_every_process_cleanly(two_workers: Server, module_dir: Path) -> None:
    pids = worker_pids(two_workers)
    assert set(pids) == {1, 2} and all(alive(pid) for pid in pids.values())
    two_workers.stop()
    assert two_workers.process.returncode == 0
    assert not any(alive(pid) for pid in pids.values()), "no worker outlives serve"
    assert not (module_dir / "pgdata" / "postmaster.pid").exists(), "the cluster was stopped"


def test_a_rate_limit_holds_across_workers(data_dir: Path) -> None:  # noqa: F811
    """A bucket of 10 and a refill of one token per 100 s: through both workers together the
    key gets 10 requests, not 10 per worker; another key is not held back."""
    server = Server(data_dir, _free_port(), ("--workers", "2"), LEDGER_API_KEYS=KEY_SETTING,
                    LEDGER_RATE_LIMIT="0.01:10")
    try:
        server.wait_ready()
        answered: dict[int, list[int]] = {1: [], 2: []}
        for n in range(30):
            worker = 1 + n % 2
            answer = on_worker(server, worker, "GET", "/v1/events", headers=auth("auditor"))
            answered[worker].append(answer.status_code)
            if answer.status_code == 429:
                assert int(answer.headers["Retry-After"]) >= 1
        statuses = answered[1] + answered[2]
        assert statuses.count(200) == 10, answered
        assert statuses.count(429) == 20
        assert 429 in answered[1] and 429 in answered[2], "both workers hold the limit"
        assert on_worker(server, 2, "GET", "/v1/events",
                         headers=auth("regulator")).status_code == 200
    finally:
        server.stop()


def test_healthz_reads_the_projectors_lag_from_the_database(data_dir: Path) -> None:  # noqa: F811
    """The documented layout: API workers with --no-projections, and `patent-ledger project`
    as a process of its own. Every worker's /healthz reports the lag the projector committed,
    and the lag grows while no projector runs anywhere."""
    server = Server(data_dir, _free_port(), ("--workers", "2", "--no-projections"),
                    LEDGER_API_KEYS=KEY_SETTING)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_DATA_DIR"] = str(data_dir)
    projector: subprocess.Popen[str] | None = None

    def start_projector() -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "api.cli", "project"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)

    def lags(worker: int) -> tuple[int, dict[str, int]]:
        health = on_worker(server, worker, "GET", "/healthz").json()
        return health["position"], {n: p["lag"] for n, p in health["projections"].items()}

    def caught_up() -> bool:
        return all(set(lag.values()) == {0} for _, lag in (lags(1), lags(2)))

    try:
        server.wait_ready()
        _owners(server, 1, first=301)  # three events
        # a reading is shared for up to 0.1 s (projection_standing): wait for the new head
        eventually(lambda: lags(1)[0] == 3, "the head on /healthz")
        head, lag = lags(1)
        assert head == 3 and set(lag.values()) == {3}, "no projection has run yet"
        projector = start_projector()
        eventually(caught_up, "every projection at the head, on both workers")
        projector.send_signal(signal.SIGTERM)
        assert projector.wait(timeout=60) == 0
        projector = None

        assert on_worker(server, 1, "POST", "/v1/parties", headers=auth("platform"), json={
            "id": uscc(302), "name": "Late", "kind": "enterprise"}).status_code == 201
        for worker in (1, 2):  # a reading is shared for up to 0.1 s (projection_standing)
            eventually(lambda worker=worker: lags(worker)[0] == 4, "the new head on /healthz")
            head, lag = lags(worker)
            assert head == 4 and set(lag.values()) == {1}, (worker, lag)

        projector = start_projector()
        eventually(caught_up, "the projector caught up again")
    finally:
        if projector is not None:
            projector.send_signal(signal.SIGTERM)
            projector.wait(timeout=60)
        server.stop()


@pytest.mark.parametrize("count", ["0", "9", "two"])
def test_a_worker_count_outside_its_range_is_refused_clearly(tmp_path: Path, count: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--workers", count],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--workers is a whole number from 1 to 8" in done.stderr
    assert not (tmp_path / "pgdata").exists(), "refused before any cluster was made"


def test_a_port_already_taken_is_refused_before_the_database(tmp_path: Path) -> None:
    """Even by another `serve --workers` (SO_REUSEPORT would let a second one join silently)."""
    import socket

    with socket.socket() as holder:  # as one of another serve's workers holds it
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env.update(LEDGER_DATA_DIR=str(tmp_path), LEDGER_PORT=str(port))
        done = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--workers", "2"],
                              env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert not (tmp_path / "pgdata").exists()
