"""Two `patent-ledger serve` processes on one database, and `serve`'s projector child.

Started as the README starts `serve` (development keys made in LEDGER_DATA_DIR), pointed at
the test server with LEDGER_DATABASE_URL. Before issue 16 one of two processes started at
the same moment died with "tuple concurrently updated" (eventsourcing's CREATE OR REPLACE
FUNCTION, run by both at once): now every schema change at start waits on one lock.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import psycopg
import pytest

from ledger.storage.store import open_store
from tests.builders import cn_patent, uscc

CLIENTS = 3  # per process
DEALS_PER_CLIENT = 30
SHARED = 15  # deals posted to both processes at once, same body (same idempotency key)


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """Processes that start together on a database no one has migrated yet (the race this
    file is about): an empty database, not the migrated copy the other tests get."""
    return empty_database_url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _projector_of(pid: int) -> int | None:
    for child in _children(pid):
        try:
            command = (Path("/proc") / str(child) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"project" in command:
            return child
    return None


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Serve:
    """`patent-ledger serve` in a subprocess, its output (JSON log lines too) in a file."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env.update(LEDGER_DATABASE_URL=database_url, LEDGER_DATA_DIR=str(data_dir))
        self.log_path = data_dir.parent / f"serve-{self.port}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port)], env=env,
            stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited ({self.process.returncode}):\n{self.output}")
            try:
                return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False
        _wait(ready, timeout, f"serve on {self.port} to be healthy:\n{self.output}")

    def metric(self, line_start: str) -> float:
        text = httpx.get(self.url + "/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith(line_start + " "):
                return float(line.split()[-1])
        raise AssertionError(f"no {line_start} in /metrics")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            finally:
                if self.process.poll() is None:
                    self.process.kill()
                    self.process.wait()
        self._log.close()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="ledger-two-serves-"))
    parent.chmod(0o711)
    yield parent / "data"
    shutil.rmtree(parent, ignore_errors=True)


def _platform_key(*servers: Serve) -> str:
    """The development keys are printed by whichever process made them (once)."""
    for server in servers:
        match = re.search(r"platform\s+(dev-platform-\S+)", server.output)
        if match:
            return match.group(1)
    raise AssertionError("no development key printed:\n" + "\n".join(s.output for s in servers))


def _licence(deal_id: str, number: str, owner: str, licensee: str) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": "licence", "effective_on": "2020-01-01",
            "patents": [number], "licensors": [owner], "licensee": licensee,
            "licence_kind": "ordinary", "territory": "CN", "field": "*",
            "starts_on": "2020-01-01", "ends_on": "2025-12-31",
            "fee": {"mode": "royalty", "rate": "0.02"}}


def _all_events(url: str, headers: dict[str, str]) -> list[int]:
    positions: list[int] = []
    after = 0
    while True:
        page = httpx.get(url + "/v1/events", params={"after": after, "limit": 500},
                         headers=headers, timeout=10).json()
        positions += [e["position"] for e in page["events"]]
        after = page["next_after"]
        if not page["has_more"]:
            return positions


def test_two_serves_started_together_both_take_deals_and_nothing_is_lost_or_doubled(
        database_url: str, data_dir: Path) -> None:
    servers = [Serve(database_url, data_dir), Serve(database_url, data_dir)]  # same moment
    try:
        for server in servers:
            server.wait_ready()
        headers = {"Authorization": f"Bearer {_platform_key(*servers)}"}
        owner, licensees = uscc(90), [uscc(91 + i) for i in range(2 * CLIENTS)]
        number = cn_patent(2016, 1, 990)
        for i, pid in enumerate((owner, *licensees)):  # registered through both processes
            assert httpx.post(servers[i % 2].url + "/v1/parties", headers=headers, json={
                "id": pid, "name": pid, "kind": "enterprise", "size": "small"}
            ).status_code == 201
        assert httpx.post(servers[1].url + "/v1/patents", headers=headers, json={
            "number": number, "title": "Valve", "filed_on": "2016-03-01",
            "granted_on": "2018-06-01", "owners": [{"party": owner, "share": "1"}]}
        ).status_code == 201

        answers: Counter[tuple[str, int]] = Counter()  # (deal id, status)
        start = threading.Barrier(2 * CLIENTS + 2)

        def own_deals(lane: int) -> None:
            server = servers[lane % 2]
            with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
                start.wait()
                for n in range(DEALS_PER_CLIENT):
                    deal_id = f"D-{lane}-{n}"
                    body = _licence(deal_id, number, owner, licensees[lane])
                    answers[deal_id, http.post("/v1/deals", json=body).status_code] += 1

        def shared_deals(side: int) -> None:
            with httpx.Client(base_url=servers[side].url, headers=headers, timeout=30) as http:
                start.wait()
                for n in range(SHARED):
                    body = _licence(f"S-{n}", number, owner, licensees[n % len(licensees)])
                    answers[f"S-{n}", http.post("/v1/deals", json=body).status_code] += 1

        threads = [threading.Thread(target=own_deals, args=(lane,))
                   for lane in range(2 * CLIENTS)]
        threads += [threading.Thread(target=shared_deals, args=(side,)) for side in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        own = {f"D-{lane}-{n}" for lane in range(2 * CLIENTS) for n in range(DEALS_PER_CLIENT)}
        shared = {f"S-{n}" for n in range(SHARED)}
        assert {deal for (deal, status) in answers if status == 201} == own | shared, answers
        assert all(status in (200, 201) for (_, status) in answers), answers
        for deal in shared:  # both answered: one stored it, the other replayed its answer
            assert answers[deal, 201] == 1 and answers[deal, 200] == 1, (deal, answers)

        with psycopg.connect(database_url) as conn:
            stored = Counter(dict(conn.execute(
                "SELECT convert_from(state, 'UTF8')::jsonb ->> 'deal_id', count(*)"
                " FROM ledger_events WHERE topic = 'LicenceGranted' GROUP BY 1").fetchall()))
            log = [p for (p,) in conn.execute(
                "SELECT notification_id FROM ledger_events ORDER BY 1").fetchall()]
        assert set(stored) == own | shared and set(stored.values()) == {1}, "lost or doubled"
        for server in servers:  # the ordered log, as consumers read it: no gap, no double
            assert _all_events(server.url, headers) == log

        # One projector follows the log for both processes; the read side has every deal.
        def projected() -> bool:
            body = httpx.get(servers[0].url + "/healthz", timeout=5).json()
            return all(p["lag"] == 0 for p in body["projections"].values())
        _wait(projected, 60, "the projections to reach the head")
        with psycopg.connect(database_url) as conn:
            licences = Counter(r[0] for r in conn.execute(
                "SELECT deal_id FROM rm_licences").fetchall())
            audited = [p for (p,) in conn.execute(
                "SELECT position FROM rm_events ORDER BY 1").fetchall()]
        assert set(licences) == own | shared and set(licences.values()) == {1}
        assert audited == log
        for server in servers:
            body = httpx.get(server.url + "/healthz", timeout=5).json()
            assert body["status"] == "ok" and body["position"] == log[-1]
            assert server.metric("ledger_projector_running") == 1
            assert server.metric("ledger_projector_starts_total") == 1
    finally:
        children = [_projector_of(s.process.pid) for s in servers]
        for server in servers:
            server.stop()
    assert [s.process.returncode for s in servers] == [0, 0], "SIGTERM is a clean shutdown"
    assert all(c is not None for c in children)
    assert not any(_alive(c) for c in children if c is not None), "a projector outlived serve"


def test_a_crashed_projector_is_restarted_and_a_killed_serve_leaves_no_projector(
        database_url: str, data_dir: Path) -> None:
    server = Serve(database_url, data_dir)
    try:
        server.wait_ready()
        first = _projector_of(server.process.pid)
        assert first is not None, "serve runs its projections in a child process"
        # Below the API's priority: on a busy machine postings get the cores first.
        assert os.getpriority(os.PRIO_PROCESS, first) == \
            os.getpriority(os.PRIO_PROCESS, server.process.pid) + 10
        os.kill(first, signal.SIGKILL)
        _wait(lambda: _projector_of(server.process.pid) not in (None, first), 30,
              "a new projector process")
        assert server.metric("ledger_projector_starts_total") == 2
        assert re.search(rf'"level": "error".*projector process {first} stopped', server.output)
        second = _projector_of(server.process.pid)
        assert second is not None
        assert os.getpriority(os.PRIO_PROCESS, second) == \
            os.getpriority(os.PRIO_PROCESS, server.process.pid) + 10
        server.process.send_signal(signal.SIGKILL)  # no chance to stop its child
        server.process.wait()
        _wait(lambda: not _alive(second), 30, "the projector to notice its serve is gone")
    finally:
        server.stop()


def test_stores_opened_at_one_instant_by_many_starts_all_open(database_url: str) -> None:
    """What killed one of two `serve`s: eventsourcing creates its table and replaces its
    insert function at every start, and two at once fail ("tuple concurrently updated", or a
    duplicate pg_type key on a fresh database). Each round opens STARTS stores at once."""
    starts, rounds = 4, 6
    failures: list[str] = []

    def open_one(barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            open_store(database_url, pool_size=1).close()
        except Exception as error:  # reported below, with its text
            failures.append(f"{type(error).__name__}: {error}")

    for _ in range(rounds):
        barrier = threading.Barrier(starts)
        threads = [threading.Thread(target=open_one, args=(barrier,)) for _ in range(starts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []


def test_a_projector_holding_more_than_its_bound_is_recycled(
        database_url: str, service: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Its resident memory is bounded by design: past the bound the supervisor stops it (it
    finishes its batch) and starts the next at once, which resumes from the committed
    positions. A bound below what any interpreter holds recycles it at the first look."""
    from api.projector_process import WATCH_SECONDS, ProjectorProcess
    from ledger.metrics import Metrics

    metrics = Metrics()  # the `service` fixture made the tables
    supervisor = ProjectorProcess(database_url, metrics, 100, max_resident_mib=1).start()
    try:
        _wait(lambda: metrics.value("ledger_projector_recycled_total") >= 1,
              WATCH_SECONDS * 6, "the projector to be recycled")
        _wait(lambda: metrics.value("ledger_projector_starts_total") >= 2, 30,
              "the next projector to start")
    finally:
        supervisor.stop()
    assert any("recycling it" in r.getMessage() for r in caplog.records)
    assert not supervisor.running
