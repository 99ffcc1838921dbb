"""The projections keep no whole-log folds (issue 16): bounded caches in front of their own
tables, nothing read from the log at start, and the same answers when the caches are far
smaller than the register (every patent dropped and read back, a backdated deal on one)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ledger.metrics import Metrics
from ledger.service import LedgerService
from projections import all_projections
from projections.anomalies import AnomalyProjection
from projections.audit import AuditProjection
from projections.indicator_rollup import IndicatorProjection
from projections.log_events import Reads, events_at
from projections.rebuild import rebuild
from projections.register_model import RegisterProjection
from projections.runner import Projection, ProjectionRunner
from tests.builders import ACME, BETA, cn_patent, licence, party, patent, pledge, transfer, uscc

TINY = 2  # entries (parties) or bytes (patents, flags) per cache: far fewer than those below
PATENTS = [cn_patent(2015, 1, 3000 + i) for i in range(8)]
BANK = uscc(910)


def _tiny() -> list[Projection]:
    return [RegisterProjection(cache_bytes=TINY), AuditProjection(cache_parties=TINY),
            AnomalyProjection(cache_bytes=TINY, cache_parties=TINY, flags_bytes=TINY),
            IndicatorProjection(cache_parties=TINY)]


def _seed(client: TestClient) -> None:
    """Each patent goes out and comes back within months (AR-1 flags), is licensed and
    pledged: many events per patent, in date order."""
    for who, kind in ((ACME, "enterprise"), (BETA, "enterprise"), (BANK, "bank"),
                      (uscc(911), "enterprise")):
        party(client, who, kind=kind)
    for number in PATENTS:
        patent(client, number, {ACME: "1"}, filed_on="2015-03-01", granted_on="2017-05-01")
    for i, number in enumerate(PATENTS):
        for path, body in (
                ("/v1/deals", transfer(f"T1-{i}", [number], [ACME], {BETA: "1"}, "2019-01-10")),
                ("/v1/deals", transfer(f"T2-{i}", [number], [BETA], {ACME: "1"}, "2019-03-10")),
                ("/v1/deals", licence(f"L-{i}", [number], [ACME], BETA, "ordinary",
                                      "2019-06-01", "2021-12-31")),
                ("/v1/deals", pledge(f"P-{i}", [number], [ACME], BANK, "2019-09-01"))):
            response = client.post(path, json=body)
            assert response.status_code in (200, 201), response.text


def _dump(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    tables = [t for p in all_projections() for t in p.tables]
    with psycopg.connect(database_url) as conn:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=_order)
                for t in tables}


def _order(row: tuple[Any, ...]) -> list[tuple[bool, Any]]:
    return [(x is None, x if isinstance(x, int | float | Decimal) else str(x)) for x in row]


def _follow(database_url: str, service: LedgerService, chosen: list[Projection]
            ) -> ProjectionRunner:
    runner = ProjectionRunner(database_url, service.store, chosen, Metrics(), batch_size=5)
    runner.start()
    head = service.store.head()
    deadline = time.monotonic() + 60
    while not (runner.active and runner.position >= head):
        assert time.monotonic() < deadline, f"projections stuck at {runner.positions}"
        assert not runner.stops, runner.stops
        time.sleep(0.05)
    return runner


def _cached(chosen: list[Projection]) -> dict[str, int]:
    register, audit, anomalies, indicators = chosen
    assert isinstance(register, RegisterProjection) and isinstance(audit, AuditProjection)
    assert isinstance(anomalies, AnomalyProjection)
    assert isinstance(indicators, IndicatorProjection)
    return {"register": len(register.folds), "audit": len(audit.traits),
            "anomaly patents": len(anomalies.store.patent_cache),
            "anomaly parties": len(anomalies.store.party_cache),
            "indicators": len(indicators.traits)}


def test_tiny_caches_give_the_answers_of_a_rebuild_and_start_up_reads_no_log(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(client)
    chosen = _tiny()
    runner = _follow(database_url, service, chosen)
    try:
        assert all(size <= TINY for size in _cached(chosen).values()), _cached(chosen)
        # A licence backdated before everything else on the first patent, long dropped from
        # every cache: its events are read back from the log and folded again.
        before = Reads.events
        response = client.post("/v1/deals", json=licence(
            "L-back", [PATENTS[0]], [ACME], uscc(911), "ordinary", "2018-02-01", "2018-12-31"))
        assert response.status_code == 201, response.text
        head = service.store.head()
        deadline = time.monotonic() + 30
        while runner.position < head:
            assert time.monotonic() < deadline, "the backdated licence was not projected"
            time.sleep(0.05)
        assert Reads.events > before, "the evicted patent was not read back from the log"
        assert all(size <= TINY for size in _cached(chosen).values()), _cached(chosen)
    finally:
        runner.stop()
    projected = _dump(database_url)
    assert projected["rm_anomalies"], "the round trips raise AR-1 flags"
    assert any(row[1] == "L-back" for row in projected["rm_licences"])
    for projection in all_projections():  # default caches, from the first event
        rebuild(database_url, service.store, projection)
    assert _dump(database_url) == projected

    # A projector started on this log reads nothing from it until an event arrives.
    reads = (Reads.events, Reads.statements)
    fresh = _tiny()
    runner = _follow(database_url, service, fresh)
    try:
        assert (Reads.events, Reads.statements) == reads, "start-up read the log"
        assert set(_cached(fresh).values()) == {0}, _cached(fresh)
        response = client.post("/v1/deals", json=licence(
            "L-next", [PATENTS[3]], [ACME], uscc(911), "ordinary", "2022-02-01", "2022-12-31",
            pledgee_consent=True))
        assert response.status_code == 201, response.text
        head = service.store.head()
        deadline = time.monotonic() + 30
        while runner.position < head:
            assert time.monotonic() < deadline, "the licence was not projected"
            time.sleep(0.05)
        # Only that patent's events were read back (its registration and four deals).
        assert Reads.events - reads[0] == 5
    finally:
        runner.stop()


def test_a_cache_counts_a_popular_patent_for_what_it_holds() -> None:
    """A cache bounded by entries grew with the log as popular patents gathered licences;
    weighed, a heavy entry pushes out as many light ones as it outweighs."""
    from projections.log_events import Lru

    cache: Lru[str, list[int]] = Lru(10, lambda licences: 1 + len(licences))
    for name in ("a", "b", "c"):
        cache.put(name, [])
    cache.put("popular", list(range(6)))  # weighs 7: 10 in all
    cache.trim()
    assert (len(cache), cache.weight) == (4, 10)
    cache.get("a")  # used again: "b" is now the least recently used
    cache.put("popular", list(range(8)))  # it grew: 9 + 3 = 12
    cache.trim()
    assert "b" not in cache and "c" not in cache and "a" in cache and cache.weight == 10
    cache.drop("popular")
    assert (len(cache), cache.weight) == (1, 1)


def test_a_cached_fold_keeps_no_licences_and_a_later_termination_reads_its_row_back(
        client: TestClient, service: LedgerService, database_url: str) -> None:
    """A popular patent's fold held every licence it ever had, so the cache grew with the log.
    A cached fold now keeps its owners and pledges only; terminating a licence granted in an
    earlier batch puts that one licence back from `rm_licences`, and the rows are the ones a
    rebuild folds from the first event."""
    for who in (ACME, BETA, uscc(911), uscc(912)):
        party(client, who)
    number = PATENTS[0]
    patent(client, number, {ACME: "1"}, filed_on="2015-03-01", granted_on="2017-05-01")
    register = RegisterProjection()
    runner = _follow(database_url, service, [register])
    try:
        for i, licensee in enumerate((BETA, uscc(911), uscc(912))):
            response = client.post("/v1/deals", json=licence(
                f"L-{i}", [number], [ACME], licensee, "ordinary", f"2019-0{i + 1}-01",
                "2023-12-31"))
            assert response.status_code == 201, response.text
        _caught_up(runner, service)
        cached = register.folds.get(number)
        assert cached is not None, "the patent's fold is cached"
        assert cached.folding.state.licences == {} and cached.folding.licence_positions == {}
        before = Reads.events
        response = client.post("/v1/deals", json={
            "deal_id": "E-1", "kind": "licence_termination", "effective_on": "2021-06-30",
            "patents": [number], "licence": "L-1"})
        assert response.status_code == 201, response.text
        _caught_up(runner, service)
        assert Reads.events == before, "the patent was folded again from the log"
    finally:
        runner.stop()
    projected = _dump(database_url)
    ended = {row[1]: row for row in projected["rm_licences"]}
    assert ended["L-1"][13] is not None and len(ended["L-1"][14]) == 2, ended["L-1"]
    assert ended["L-0"][13] is None and ended["L-2"][13] is None
    rebuild(database_url, service.store, RegisterProjection())
    assert _dump(database_url) == projected


def test_a_fold_read_back_from_the_log_sheds_its_licences_and_a_termination_still_lands(
        client: TestClient, service: LedgerService, database_url: str) -> None:
    """A patent the cache dropped is folded again from the log and sheds its licences at
    once (a popular patent's thousands of licences were the projector's high-water mark while
    its batch lasted); a termination of one of them in that very batch reads its row back, and
    the rows are the ones a rebuild folds from the first event."""
    for who in (ACME, BETA, uscc(911), uscc(912)):
        party(client, who)
    number = PATENTS[1]
    patent(client, number, {ACME: "1"}, filed_on="2015-03-01", granted_on="2017-05-01")
    for i, licensee in enumerate((BETA, uscc(911), uscc(912))):
        response = client.post("/v1/deals", json=licence(
            f"M-{i}", [number], [ACME], licensee, "ordinary", f"2019-0{i + 1}-01",
            "2023-12-31"))
        assert response.status_code == 201, response.text
    register = RegisterProjection(cache_bytes=1)  # every fold dropped after its batch
    runner = _follow(database_url, service, [register])
    try:
        assert number not in register.folds
        head = service.store.head()  # the last licence: a batch that names the patent
        with psycopg.connect(database_url) as conn, conn.cursor() as cur:
            loaded = register._load(cur, list(events_at(cur, [head]).items()), "")
        assert loaded[number].folding.state.licences == {}, "read back whole, not shed"
        assert loaded[number].folding.state.owners, "its owners are kept"
        response = client.post("/v1/deals", json={
            "deal_id": "F-1", "kind": "licence_termination", "effective_on": "2021-06-30",
            "patents": [number], "licence": "M-1"})
        assert response.status_code == 201, response.text
        _caught_up(runner, service)
    finally:
        runner.stop()
    projected = _dump(database_url)
    ended = {row[1]: row for row in projected["rm_licences"]}
    assert ended["M-1"][13] is not None, ended["M-1"]
    assert ended["M-0"][13] is None and ended["M-2"][13] is None
    rebuild(database_url, service.store, RegisterProjection())
    assert _dump(database_url) == projected


def _caught_up(runner: ProjectionRunner, service: LedgerService) -> None:
    head = service.store.head()
    deadline = time.monotonic() + 30
    while runner.position < head:
        assert time.monotonic() < deadline, f"projections stuck at {runner.positions}"
        assert not runner.stops, runner.stops
        time.sleep(0.05)


def test_flags_kept_between_batches_are_the_ones_stored_and_a_rebuild_gives_the_same(
        client: TestClient, service: LedgerService, database_url: str) -> None:
    """A scope judged again compares its new flags with those it kept from its last judgement,
    not with rows read back: a patent that keeps changing hands, one deal a batch, gains AR-1
    and AR-2 flags and loses some (an AR-2 run ends later as the next change lands in its
    window). The rows are the ones a rebuild gives, and what is kept is what is stored."""
    for who in (ACME, BETA):
        party(client, who)
    number = PATENTS[2]
    patent(client, number, {ACME: "1"}, filed_on="2015-03-01", granted_on="2017-05-01")
    anomalies = AnomalyProjection()
    runner = ProjectionRunner(database_url, service.store, [anomalies], Metrics(),
                              batch_size=1)
    runner.start()
    try:
        owners = [ACME, BETA]
        for i in range(8):
            seller, buyer = owners[i % 2], owners[(i + 1) % 2]
            response = client.post("/v1/deals", json=transfer(
                f"F-{i}", [number], [seller], {buyer: "1"}, f"2019-{i + 1:02d}-15"))
            assert response.status_code == 201, response.text
            _caught_up(runner, service)
    finally:
        runner.stop()
    projected = _dump(database_url)["rm_anomalies"]
    assert {row[1] for row in projected} == {"AR-1", "AR-2"}, projected
    kept = anomalies.store.flag_cache.get(f"patent:{number}")
    assert kept is not None and sorted(kept) == sorted(row[0] for row in projected)
    rebuild(database_url, service.store, AnomalyProjection())
    assert _dump(database_url)["rm_anomalies"] == projected
