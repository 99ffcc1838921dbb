"""The projection runner: exactly once across failures and kills, and rebuilds that swap atomically."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ledger.metrics import Metrics
from ledger.service import LedgerService
from projections import all_projections, runner
from projections.anomalies import AnomalyProjection
from projections.audit import AuditProjection
from projections.indicator_rollup import IndicatorProjection
from projections.rebuild import rebuild
from projections.register_model import RegisterProjection
from projections.runner import Batch, ProjectionRunner
from tests.builders import ACME, cn_patent, party, patent, uscc

BANK = uscc(900)
TABLES = [t for p in all_projections() for t in p.tables]


def _seed(client: TestClient, patents: int, deals_per_patent: int) -> None:
    """Patents with licences and pledge cycles, posted in batches (many events quickly)."""
    party(client, ACME)
    party(client, BANK, kind="bank")
    licensees = [uscc(600 + i) for i in range(5)]
    for p in licensees:
        party(client, p)
    numbers = [cn_patent(2015, 1, 1000 + i) for i in range(patents)]
    for number in numbers:
        patent(client, number, {ACME: "1"}, filed_on="2015-03-01", granted_on="2017-05-01")
    deals = []
    for n, number in enumerate(numbers):
        for d in range(deals_per_patent):
            deals.append({"deal_id": f"L-{n}-{d}", "kind": "licence", "effective_on": "2018-01-01",
                          "patents": [number], "licensors": [ACME],
                          "licensee": licensees[d % 5], "licence_kind": "ordinary",
                          "territory": "CN", "field": "*", "starts_on": "2018-01-01",
                          "ends_on": "2020-12-31", "fee": {"mode": "free"}})
    for start in range(0, len(deals), 1000):
        response = client.post("/v1/deals/batch", json={"deals": deals[start:start + 1000]})
        assert response.status_code == 200, response.text


def _dump(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(database_url) as conn:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=_row_order)
                for t in TABLES}


def _row_order(row: tuple[Any, ...]) -> list[tuple[bool, Any]]:
    """Every column, numbers as numbers: rows that tie on their first columns still compare."""
    return [(x is None, x if isinstance(x, int | float | Decimal) else str(x)) for x in row]


def _positions(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        return dict(conn.execute("SELECT name, position FROM projection_positions").fetchall())


def _projected(database_url: str) -> int:
    """The lowest position of the projections themselves (the flagged deals' settler, which
    follows them every few seconds while they catch up, is waited for at the end)."""
    names = {p.name for p in all_projections()}
    return min(position for name, position in _positions(database_url).items() if name in names)


def _wait_until(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class _FailsOnce:
    """A projection that dies after writing half of its second batch (a crash mid-batch)."""

    def __init__(self, inner: RegisterProjection | AuditProjection | IndicatorProjection
                 | AnomalyProjection) -> None:
        self.inner, self.name, self.tables = inner, inner.name, inner.tables
        self.batches = 0

    def reset(self) -> None:
        self.inner.reset()

    def warm(self, batch: Batch) -> None:
        self.inner.warm(batch)

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        self.batches += 1
        if self.batches == 2:
            self.inner.write(cur, batch[: len(batch) // 2], suffix)
            raise ConnectionError("the projector died mid-batch")
        self.inner.write(cur, batch, suffix)


def test_a_projector_dying_mid_batch_resumes_with_no_double_count(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(client, patents=20, deals_per_patent=10)
    head = service.store.head()
    monkeypatch.setattr(runner, "RESTART_MIN_SECONDS", 0.05)
    metrics = Metrics()
    runners = [ProjectionRunner(database_url, service.store, _FailsOnce(p), metrics,
                                batch_size=37)
               for p in (RegisterProjection(), AuditProjection(), IndicatorProjection(),
                         AnomalyProjection())]
    for r in runners:
        r.start()
    try:
        _wait_until(lambda: all(r.position == head for r in runners))
    finally:
        for r in runners:
            r.stop()
    assert metrics.value("projection_restarts_total", projection="register") == 1
    assert metrics.value("projection_restarts_total", projection="audit") == 1
    assert metrics.value("projection_restarts_total", projection="indicators") == 1
    assert metrics.value("projection_restarts_total", projection="anomalies") == 1
    survived = _dump(database_url)
    assert [row[0] for row in survived["rm_events"]] == [p for p, _ in service.store.read_all()]
    for projection in all_projections():
        rebuild(database_url, service.store, projection)
    assert _dump(database_url) == survived, "after the crash the tables differ from a rebuild"


class _SlowSettler:
    """A settler whose second settle lasts until the test lets it go (a settle over many
    flags on a flag-dense log takes longer than several pages)."""

    name = "slow"

    def __init__(self, head: int) -> None:
        self.head, self.calls, self.release = head, 0, threading.Event()

    def settle(self, conn: psycopg.Connection) -> int:
        self.calls += 1
        if self.calls == 2:
            assert self.release.wait(60), "the test never let the settle go"
        return self.head if self.release.is_set() else 0

    def record_failure(self, conn: psycopg.Connection, error: BaseException) -> None:
        raise AssertionError(f"the settle failed: {error}")


def test_pages_go_on_while_a_settle_runs_and_readers_wait_for_both(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(client, patents=10, deals_per_patent=10)
    head = service.store.head()
    monkeypatch.setattr(runner, "SETTLE_SECONDS", 0.0)
    settler = _SlowSettler(head)
    follower = ProjectionRunner(database_url, service.store, AuditProjection(), Metrics(),
                                batch_size=10, settlers=[settler]).start()
    try:
        _wait_until(lambda: settler.calls == 2)
        _wait_until(lambda: follower.position == head)  # every page, the settle still running
        assert follower.projected < head, "a reader waiting for the read side must wait for " \
            "the settle too"
        settler.release.set()
        _wait_until(lambda: follower.projected == head)
    finally:
        settler.release.set()
        follower.stop()


class _TimedSettler:
    """A settler whose every settle takes SECONDS, noting when each began."""

    name, tables, SECONDS = "timed", (), 0.2

    def __init__(self) -> None:
        self.began: list[float] = []

    def settle(self, conn: psycopg.Connection) -> int:
        self.began.append(time.monotonic())
        time.sleep(self.SECONDS)
        return 0

    def record_failure(self, conn: psycopg.Connection, error: BaseException) -> None:
        raise AssertionError(f"the settle failed: {error}")


def test_settles_beside_the_pages_take_at_most_their_share_of_the_time(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(client, patents=10, deals_per_patent=100)  # pages for 2 s and more
    head = service.store.head()
    monkeypatch.setattr(runner, "SETTLE_SECONDS", 0.0)  # only the share holds them back
    settler = _TimedSettler()
    follower = ProjectionRunner(database_url, service.store, AuditProjection(), Metrics(),
                                batch_size=1, settlers=[settler]).start()
    try:
        _wait_until(lambda: follower.position == head)
        caught_up = time.monotonic()
    finally:
        follower.stop()
    beside = [t for t in settler.began[1:] if t < caught_up]  # after the first, at start
    span = caught_up - settler.began[0]
    assert len(beside) >= 1, "no settle ran beside the pages: the test proves nothing"
    assert len(beside) * settler.SECONDS <= runner.SETTLE_SHARE * span + settler.SECONDS, \
        f"{len(beside)} settles of {settler.SECONDS} s in {span:.1f} s of pages"


class _Pages:
    """The audit projection, noting the size of every page it is given."""

    def __init__(self) -> None:
        self.inner = AuditProjection()
        self.name, self.tables = self.inner.name, self.inner.tables
        self.sizes: list[int] = []

    def reset(self) -> None:
        self.inner.reset()

    def write(self, cur: psycopg.Cursor, batch: Batch, suffix: str = "") -> None:
        self.sizes.append(len(batch))
        self.inner.write(cur, batch, suffix)


def test_under_a_stream_of_single_writes_pages_gather(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    party(client, ACME)
    # A stream of single postings, one every 10 ms for about 2 s: pages gather what came
    # while the one before was written, no more often than every PAGE_SECONDS.
    monkeypatch.setattr(runner, "PAGE_SECONDS", 0.5)
    pages = _Pages()
    follower = ProjectionRunner(database_url, service.store, pages, Metrics()).start()
    try:
        _wait_until(lambda: follower.position == service.store.head())
        pages.sizes.clear()
        started = time.monotonic()
        for n in range(200):
            party(client, uscc(1000 + n))
            time.sleep(0.01)
        _wait_until(lambda: follower.position == service.store.head())
        seconds = time.monotonic() - started
    finally:
        follower.stop()
    assert sum(pages.sizes) == 200
    assert len(pages.sizes) <= seconds / runner.PAGE_SECONDS + 2, \
        f"{len(pages.sizes)} pages in {seconds:.1f} s ({pages.sizes}): short pages read at once"


def test_a_projector_killed_repeatedly_ends_equal_to_a_rebuild(
        client: TestClient, service: LedgerService, database_url: str) -> None:
    # Enough log that four rounds of a tenth each, plus what the projector commits between
    # two polls (it has grown faster), still end before the head.
    _seed(client, patents=60, deals_per_patent=100)
    head = service.store.head()
    env = {**os.environ, "LEDGER_DATABASE_URL": database_url, "LEDGER_PROJECTION_BATCH": "50"}
    command = [sys.executable, "-m", "api.cli", "project"]
    kills, mid_catch_up, reached = 0, 0, 0
    for _ in range(4):  # each time: let it commit some batches, then SIGKILL mid catch-up
        projector = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        target = reached + head // 10
        _wait_until(lambda: _projected(database_url) >= target)  # noqa: B023
        projector.send_signal(signal.SIGKILL)
        projector.wait()
        kills += 1
        reached = _projected(database_url)
        mid_catch_up += reached < head
    projector = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    try:
        _wait_until(lambda: set(_positions(database_url).values()) == {head}, timeout=120)
    finally:
        projector.send_signal(signal.SIGTERM)
        projector.wait(timeout=20)
    print(f"projector SIGKILLed {kills} times, {mid_catch_up} of them mid catch-up, "
          f"{head} events")
    assert mid_catch_up == kills, "a kill landed after the projector had caught up"
    survived = _dump(database_url)
    assert len(survived["rm_events"]) == len(list(service.store.read_all()))
    for projection in all_projections():
        rebuild(database_url, service.store, projection)
    assert _dump(database_url) == survived


def test_a_rebuild_swaps_in_fresh_tables_with_no_empty_answers(
        client: TestClient, service: LedgerService, database_url: str) -> None:
    from projections.projectors import Projectors
    from tests.ledger_fixtures import wait_projected

    _seed(client, patents=40, deals_per_patent=25)
    projectors = Projectors(database_url, service.store, service.metrics).start()
    try:
        wait_projected(projectors, service.store.head())
        before = _dump(database_url)
        stop, counts, errors = threading.Event(), [], []

        def read_while_rebuilding() -> None:
            with psycopg.connect(database_url, autocommit=True) as conn:
                while not stop.is_set():
                    try:
                        counts.append(conn.execute("SELECT count(*) FROM rm_licences").fetchone())
                    except psycopg.Error as error:
                        errors.append(error)

        reader = threading.Thread(target=read_while_rebuilding)
        reader.start()
        seen: list[int] = []
        position = rebuild(database_url, service.store, RegisterProjection(),
                           lambda done, total: seen.append(done))
        stop.set()
        reader.join()
        assert errors == [] and counts and all(c == (1000,) for c in counts), \
            "a reader saw an empty or partial table during the rebuild"
        assert seen and seen[-1] == position == service.store.head()
        assert _dump(database_url) == before
        with psycopg.connect(database_url) as conn:
            generation = conn.execute("SELECT generation FROM projection_positions"
                                      " WHERE name = 'register'").fetchone()
        assert generation == (2,)
        # The live runner notices the swap, warms up again and keeps following.
        party(client, uscc(999))
        wait_projected(projectors, service.store.head())
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT count(*) FROM rm_parties WHERE id = %s",
                                (uscc(999),)).fetchone() == (1,)
    finally:
        projectors.stop()


def test_the_runner_restarts_after_its_connections_are_dropped(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from projections.projectors import Projectors
    from tests.ledger_fixtures import wait_projected

    monkeypatch.setattr(runner, "RESTART_MIN_SECONDS", 0.05)
    party(client, ACME)
    projectors = Projectors(database_url, service.store, service.metrics).start()
    try:
        wait_projected(projectors, service.store.head())
        with psycopg.connect(database_url, autocommit=True) as conn:
            dropped = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s AND datname = current_database()",
                (runner.APPLICATION_NAME,)).fetchone()
        assert dropped == (len(all_projections()) + 2,), \
            "the runner holds a working connection per projection, one for its settler " \
            "(the flagged deals' adjustments) and a LISTEN connection"
        party(client, BANK, kind="bank")
        wait_projected(projectors, service.store.head())
        assert service.metrics.value("projection_restarts_total", projection="register") >= 1
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT count(*) FROM rm_parties").fetchone() == (2,)
    finally:
        projectors.stop()


def test_the_rebuild_command_shows_progress_and_swaps(
        client: TestClient, service: LedgerService, database_url: str) -> None:
    _seed(client, patents=5, deals_per_patent=4)
    env = {**os.environ, "LEDGER_DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-m", "api.cli", "rebuild", "register"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "[rebuild register]" in done.stderr and "100%" in done.stderr
    assert f"register: rebuilt up to position {service.store.head()}" in done.stdout
    assert _positions(database_url)["register"] == service.store.head()
    unknown = subprocess.run([sys.executable, "-m", "api.cli", "rebuild", "nonsense"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "known: register, audit" in unknown.stderr
