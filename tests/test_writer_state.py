"""The writer's register lives in PostgreSQL; a process holds only a bounded cache of it.

What a user notices: a writer that starts on a long log answers at once, replays postings it
never saw and refuses deals on state it never folded; a patent dropped from the cache is
judged on its whole timeline again, backdated deals included; two writers caching the same
patent never judge on a stale copy; a log written before the state tables is filed at start.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import KeyRing
from ledger.engine.register import PATENT_RECORDS
from ledger.service import LedgerService
from ledger.storage import snapshots
from tests.builders import ACME, BETA, cn_patent, licence, party, patent, transfer, uscc
from tests.ledger_fixtures import KEY_SETTING, auth

GAMMA = uscc(7)


def _client(service: LedgerService) -> TestClient:
    return TestClient(create_app(service, KeyRing.from_setting(KEY_SETTING)),
                      headers=auth("platform"))


@pytest.fixture
def second(database_url: str) -> Iterator[LedgerService]:
    """Another writer process on the same database, started after the first has written."""
    services: list[LedgerService] = []

    def start(**options: Any) -> LedgerService:
        services.append(LedgerService(database_url, **options).start())
        return services[-1]

    yield start  # type: ignore[misc]
    for service in services:
        service.stop()


def _market(client: TestClient, patents: int) -> list[str]:
    for party_id in (ACME, BETA, GAMMA):
        party(client, party_id)
    numbers = [cn_patent(2017, 1, serial) for serial in range(1, patents + 1)]
    for number in numbers:
        patent(client, number, {ACME: "1"})
    return numbers


def test_a_writer_started_on_a_log_reads_none_of_it_and_judges_from_the_tables(
        client: TestClient, service: LedgerService, second: Any) -> None:
    numbers = _market(client, 5)
    assert client.post("/v1/deals", json=transfer("t1", [numbers[0]], [ACME],
                                                   {BETA: "1"})).status_code == 201
    other: LedgerService = second()
    register = other.writer._register
    assert register is not None
    assert (register.cached_events, register.cached_postings, register.loads) == (0, 0, 0)
    assert register.position == service.store.head()

    with _client(other) as again:
        replay = again.post("/v1/deals", json=transfer("t1", [numbers[0]], [ACME],
                                                       {BETA: "1"}))
        stale = again.post("/v1/deals", json=licence("l1", [numbers[0]], [ACME], GAMMA,
                                                     starts_on="2021-01-01"))
        lawful = again.post("/v1/deals", json=licence("l2", [numbers[0]], [BETA], GAMMA,
                                                      starts_on="2021-01-01"))

    assert replay.status_code == 200, replay.text  # a replay of a posting it never saw
    assert stale.status_code == 409 and stale.json()["rule"] == "INV-2", stale.text
    assert lawful.status_code == 201, lawful.text


def test_a_group_loads_what_it_names_in_one_round_trip(
        client: TestClient, service: LedgerService, second: Any) -> None:
    numbers = _market(client, 20)
    other: LedgerService = second()
    deals = [licence(f"l{i}", [numbers[i % 20]], [ACME], BETA) for i in range(100)]
    with _client(other) as again:
        response = again.post("/v1/deals/batch", json={"deals": deals})
    assert {r["status"] for r in response.json()["results"]} == {201}
    assert other.metrics.value("ledger_state_loads_total") == 1
    assert other.writer._register is not None
    assert other.writer._register.cached_events == 20 * PATENT_RECORDS + 100  # and licences

    with _client(other) as again:  # a registration: its key, its owners, its number at once
        patent(again, cn_patent(2018, 1, 1), {ACME: "1"})
    assert other.metrics.value("ledger_state_loads_total") == 2


def test_a_backdated_deal_on_a_patent_dropped_from_the_cache_is_judged_on_its_timeline(
        client: TestClient, service: LedgerService, second: Any) -> None:
    numbers = _market(client, 30)
    target = numbers[0]
    assert client.post("/v1/deals", json=transfer(
        "later", [target], [ACME], {BETA: "1"}, effective_on="2021-01-01")).status_code == 201
    other: LedgerService = second(cache_events=3)  # less than one patent weighs: none kept
    with _client(other) as again:
        assert again.post("/v1/deals", json=licence(
            "warm", [target], [BETA], GAMMA, starts_on="2021-02-01")).status_code == 201
        for i, number in enumerate(numbers[1:]):  # push the target out of the cache
            assert again.post("/v1/deals", json=licence(
                f"other{i}", [number], [ACME], GAMMA)).status_code == 201
        register = other.writer._register
        assert register is not None and register.cached_events <= 3 + 2
        loads = register.loads

        breaking = again.post("/v1/deals", json=transfer(
            "early", [target], [ACME], {GAMMA: "1"}, effective_on="2020-06-01"))
        lawful = again.post("/v1/deals", json=licence(
            "backdated", [target], [ACME], GAMMA, starts_on="2020-03-01",
            ends_on="2020-12-31"))

    assert breaking.status_code == 409, breaking.text
    refusal = breaking.json()
    assert refusal["rule"] == "INV-2" and refusal["facts"]["breaks_later_event"] == "later"
    assert lawful.status_code == 201, lawful.text
    assert register.loads > loads, "the evicted patent was judged without loading it"


def test_two_writers_caching_one_patent_never_judge_on_a_stale_copy(
        client: TestClient, service: LedgerService, second: Any) -> None:
    numbers = _market(client, 1)
    other: LedgerService = second()
    with _client(other) as again:
        assert again.post("/v1/deals", json=licence(
            "cached", numbers, [ACME], GAMMA)).status_code == 201  # the patent is cached there
        assert client.post("/v1/deals", json=transfer(
            "moved", numbers, [ACME], {BETA: "1"}, effective_on="2021-01-01")).status_code == 201
        stale = again.post("/v1/deals", json=licence(
            "by-old-owner", numbers, [ACME], GAMMA, starts_on="2021-06-01"))
    assert stale.status_code == 409 and stale.json()["rule"] == "INV-2", stale.text


def test_a_log_written_before_the_state_tables_is_filed_when_a_writer_starts(
        client: TestClient, service: LedgerService, database_url: str, second: Any) -> None:
    numbers = _market(client, 3)
    assert client.post("/v1/deals", json=transfer("t1", numbers[:2], [ACME],
                                                   {BETA: "1"})).status_code == 201
    with psycopg.connect(database_url, autocommit=True) as conn:
        filed = conn.execute("SELECT (SELECT count(*) FROM ledger_postings), "
                             "(SELECT count(*) FROM ledger_patent_events)").fetchone()
        conn.execute("DELETE FROM ledger_postings")
        conn.execute("DELETE FROM ledger_patent_events")
        conn.execute("UPDATE ledger_state_position SET position = 0")

    other: LedgerService = second()

    with psycopg.connect(database_url, autocommit=True) as conn:
        again = conn.execute("SELECT (SELECT count(*) FROM ledger_postings), "
                             "(SELECT count(*) FROM ledger_patent_events), "
                             "(SELECT position FROM ledger_state_position)").fetchone()
    assert again is not None and filed is not None
    assert again[:2] == filed and again[2] == service.store.head()
    with _client(other) as later:
        replay = later.post("/v1/deals", json=transfer("t1", numbers[:2], [ACME],
                                                       {BETA: "1"}))
        stale = later.post("/v1/deals", json=licence("l1", [numbers[1]], [ACME], GAMMA,
                                                     starts_on="2021-01-01"))
    assert replay.status_code == 200, replay.text
    assert stale.status_code == 409 and stale.json()["rule"] == "INV-2"


def test_a_cached_patent_kept_as_its_state_is_loaded_whole_for_the_past(
        client: TestClient, service: LedgerService) -> None:
    """After a group the writer keeps a patent as its current state only; a backdated deal
    needs its events again, and a posting taken back must not leave its deal in that state."""
    numbers = _market(client, 1)
    assert client.post("/v1/deals", json=transfer(
        "later", numbers, [ACME], {BETA: "1"}, effective_on="2021-01-01")).status_code == 201
    register = service.writer._register
    assert register is not None
    timeline = register.patents[numbers[0]]
    assert not timeline.complete and timeline.events == []  # its state, not its events

    breaking = client.post("/v1/deals", json=transfer(
        "early", numbers, [ACME], {GAMMA: "1"}, effective_on="2020-06-01"))
    assert breaking.status_code == 409 and breaking.json()["rule"] == "INV-2"
    assert breaking.json()["facts"]["breaks_later_event"] == "later"

    taken_back = client.post("/v1/deals/batch", json={"atomic": True, "deals": [
        licence("kept-out", numbers, [BETA], GAMMA, starts_on="2022-01-01"),
        licence("refused", numbers, [BETA], GAMMA, kind="exclusive", starts_on="2022-02-01")]})
    assert [r["status"] for r in taken_back.json()["results"]] == [424, 409]
    exclusive = client.post("/v1/deals", json=licence(
        "alone", numbers, [BETA], GAMMA, kind="exclusive", starts_on="2022-02-01"))
    assert exclusive.status_code == 201, exclusive.text  # "kept-out" is not in the state


def _snapshot_position(database_url: str, number: str) -> int | None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT position FROM ledger_patent_snapshots WHERE number = %s",
                           (number,)).fetchone()
    return None if row is None else int(row[0])


def test_a_patent_the_cache_let_go_is_loaded_again_from_its_snapshot(
        client: TestClient, service: LedgerService, database_url: str, second: Any) -> None:
    """A patent with a history leaves the cache as a snapshot of its state; a writer that
    loads it again reads that row and the events after it, and judges exactly as on the
    whole timeline: the current owner, a later deal, a backdated one, a changed law."""
    numbers = _market(client, 12)
    target = numbers[0]
    assert client.post("/v1/deals", json=transfer(
        "later", [target], [ACME], {BETA: "1"}, effective_on="2021-01-01")).status_code == 201
    for i in range(3):
        assert client.post("/v1/deals", json=licence(
            f"by-beta{i}", [target], [BETA], GAMMA, starts_on="2021-02-01")).status_code == 201
    small: LedgerService = second(cache_events=3)
    with _client(small) as again:
        assert again.post("/v1/deals", json=licence(
            "warm", [target], [BETA], GAMMA, starts_on="2021-03-01")).status_code == 201
        for i, number in enumerate(numbers[1:]):  # push the target out, then one more group
            assert again.post("/v1/deals", json=licence(
                f"other{i}", [number], [ACME], GAMMA)).status_code == 201
    assert small.metrics.value("ledger_state_snapshots_kept_total") >= 1
    taken_at = _snapshot_position(database_url, target)
    assert taken_at is not None and taken_at >= service.store.head() - len(numbers)

    fresh: LedgerService = second()
    with _client(fresh) as later:
        stale = later.post("/v1/deals", json=licence(
            "by-acme", [target], [ACME], GAMMA, starts_on="2021-06-01"))
        lawful = later.post("/v1/deals", json=licence(
            "by-beta-again", [target], [BETA], GAMMA, starts_on="2021-06-01"))
    assert stale.status_code == 409 and stale.json()["rule"] == "INV-2", stale.text
    assert lawful.status_code == 201, lawful.text
    assert fresh.metrics.value("ledger_state_snapshots_read_total") == 1

    # Filed after the snapshot but dated before its state: the patent is loaded whole.
    assert client.post("/v1/deals", json=licence(
        "backdated", [target], [ACME], GAMMA, starts_on="2020-03-01",
        ends_on="2020-12-31")).status_code == 201
    whole: LedgerService = second()
    with _client(whole) as later:
        breaking = later.post("/v1/deals", json=transfer(
            "early", [target], [ACME], {GAMMA: "1"}, effective_on="2020-06-01"))
    assert breaking.status_code == 409, breaking.text
    assert breaking.json()["facts"]["breaks_later_event"] == "later"
    assert whole.metrics.value("ledger_state_snapshots_read_total") == 0

    with psycopg.connect(database_url, autocommit=True) as conn:  # taken by other code
        conn.execute("UPDATE ledger_patent_snapshots SET form = 'another law'")
    other_law: LedgerService = second()
    with _client(other_law) as later:
        stale = later.post("/v1/deals", json=licence(
            "by-acme-again", [target], [ACME], GAMMA, starts_on="2021-07-01"))
    assert stale.status_code == 409 and stale.json()["rule"] == "INV-2", stale.text
    assert other_law.metrics.value("ledger_state_snapshots_read_total") == 0


def test_a_patent_the_cache_keeps_has_its_snapshot_taken_again_as_it_grows(
        client: TestClient, service: LedgerService, database_url: str, second: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A popular patent never leaves the cache, so without a fresh snapshot a restart would
    decode its whole history at once. Every REFRESH_AFTER events its state is written again;
    a writer started later loads that row and the few events after it, and judges as on the
    whole timeline (an exclusive licence collides with the ordinary ones kept in the row)."""
    monkeypatch.setattr(snapshots, "REFRESH_AFTER", 4)
    numbers = _market(client, 2)
    popular = numbers[0]
    for i in range(9):
        assert client.post("/v1/deals", json=licence(
            f"many{i}", [popular], [ACME], (BETA, GAMMA)[i % 2],
            starts_on=f"2021-02-{10 + i}", ends_on="2022-12-31")).status_code == 201
    assert client.post("/v1/deals", json=licence(  # the group that writes the last snapshot
        "elsewhere", [numbers[1]], [ACME], GAMMA)).status_code == 201
    taken_at = _snapshot_position(database_url, popular)
    assert taken_at is not None and taken_at >= service.store.head() - 4, taken_at

    fresh: LedgerService = second()
    with _client(fresh) as later:
        colliding = later.post("/v1/deals", json=licence(
            "alone", [popular], [ACME], GAMMA, kind="exclusive", starts_on="2022-01-01",
            ends_on="2022-06-30"))
        after_them = later.post("/v1/deals", json=licence(
            "alone-later", [popular], [ACME], GAMMA, kind="exclusive", starts_on="2023-01-01",
            ends_on="2023-06-30"))
    assert colliding.status_code == 409 and colliding.json()["rule"] == "INV-6", colliding.text
    assert after_them.status_code == 201, after_them.text
    assert fresh.metrics.value("ledger_state_snapshots_read_total") == 1
