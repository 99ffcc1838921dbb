"""Concurrent writers lose, double and skip nothing; a follower sees every event in order.

Skipped events under concurrent writers are the most common bug of PostgreSQL event stores
(architecture.md s2), so this race test stays in the suite.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg
import pytest
from fastapi.testclient import TestClient

from ledger.integrity.verify import verify_log
from ledger.law import events as ev
from ledger.service import LedgerService
from ledger.storage import group_append
from ledger.storage.group_append import ChunkedAppend
from projections.projectors import Projectors
from tests.builders import cn_patent, licence, party, patent, uscc
from tests.ledger_fixtures import wait_projected

WRITERS = 8
DEALS_PER_WRITER = 40


def _register_owners(client: TestClient) -> list[tuple[str, str]]:
    licensee = uscc(999)
    party(client, licensee)
    owners = []
    for w in range(WRITERS):
        owner = uscc(w + 1)
        party(client, owner)
        number = cn_patent(2018, 1, w + 1)
        patent(client, number, {owner: "1"})
        owners.append((owner, number))
    return owners


def _follow(service: LedgerService, stop: threading.Event, seen: list[int]) -> None:
    """A downstream consumer: reads after its last position, as GET /v1/events does."""
    after = 0
    while True:
        done = stop.is_set()
        for position, _ in service.store.read(after, 500):
            seen.append(position)
            after = position
        if done:
            return


def _deal(writer: int, n: int, owner: str, number: str) -> dict[str, object]:
    return licence(f"w{writer}-d{n}", [number], [owner], uscc(999), kind="ordinary",
                   starts_on="2020-01-01", ends_on="2021-12-31")


def test_eight_writers_through_one_api(client: TestClient, service: LedgerService) -> None:
    owners = _register_owners(client)
    base = service.store.head()
    stop, seen = threading.Event(), []
    follower = threading.Thread(target=_follow, args=(service, stop, seen))
    follower.start()

    def write(w: int) -> list[int]:
        owner, number = owners[w]
        return [client.post("/v1/deals", json=_deal(w, n, owner, number)).status_code
                for n in range(DEALS_PER_WRITER)]

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = [s for batch in pool.map(write, range(WRITERS)) for s in batch]
    stop.set()
    follower.join()
    _assert_log_complete(service, base, statuses, seen)


def test_eight_writer_processes_share_one_log(client: TestClient, service: LedgerService,
                                              database_url: str, projectors: Projectors) -> None:
    """Eight independent writers (as eight API processes would be) on one database, while
    the projections follow: the audit index must hold every event once, in log order."""
    owners = _register_owners(client)
    base = service.store.head()
    others = [LedgerService(database_url).start() for _ in range(WRITERS)]
    stop, seen = threading.Event(), []
    follower = threading.Thread(target=_follow, args=(service, stop, seen))
    follower.start()

    def write(w: int) -> list[int]:
        owner, number = owners[w]
        statuses = []
        for n in range(DEALS_PER_WRITER):
            from functools import partial

            from ledger.posting.commands import LicenceDeal
            from ledger.posting.decisions import decide_deal

            cmd = LicenceDeal.model_validate(_deal(w, n, owner, number))
            result = others[w].writer.post_and_wait(partial(decide_deal, cmd=cmd), "test:w")
            statuses.append(201 if result.created else 0)
        return statuses

    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            statuses = [s for batch in pool.map(write, range(WRITERS)) for s in batch]
    finally:
        stop.set()
        follower.join()
        for other in others:
            other.stop()
    _assert_log_complete(service, base, statuses, seen)
    wait_projected(projectors, service.store.head())
    with psycopg.connect(database_url) as conn:
        indexed = [p for (p,) in conn.execute("SELECT position FROM rm_events ORDER BY 1")]
    assert indexed == [p for p, _ in service.store.read_all()], "the projection skipped an event"
    verdict = verify_log(database_url)  # eight writers, one unbroken hash chain
    assert verdict.holds and verdict.linked == verdict.events == len(indexed), verdict


def _assert_log_complete(service: LedgerService, base: int, statuses: list[int],
                         seen: list[int]) -> None:
    assert statuses.count(201) == WRITERS * DEALS_PER_WRITER
    stored = [(p, e) for p, e in service.store.read_all() if p > base]
    deal_ids = [e.deal_id for _, e in stored]  # type: ignore[attr-defined]
    assert len(deal_ids) == WRITERS * DEALS_PER_WRITER, "an event is missing or extra"
    assert len(set(deal_ids)) == len(deal_ids), "an event was stored twice"
    positions = [p for p, _ in stored]
    followed = [p for p in seen if p > base]
    assert followed == positions, "the follower skipped or reordered an event"


def test_the_writer_judges_against_what_others_stored_under_the_lock(
        client: TestClient, service: LedgerService, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer whose register lags sees the missed events before judging; a judge that fails
    stores nothing, even after a chunk of what it settled was inserted."""
    monkeypatch.setattr(group_append, "CHUNK", 1)  # every settled event sent at once

    party(client, uscc(1))
    party(client, uscc(2))
    head = service.store.head()
    today = datetime.now(UTC).date()
    event = ev.PartyListed(
        originator_id=ev.stream_id("listing", "l-x"), originator_version=1,
        timestamp=datetime.now(UTC), effective_on=today, posted_by="test",
        listing_id="l-x", party=uscc(1), credit_list="dishonest", grounds="test",
        starts_on=today, ends_on=None, fingerprint="f",
    )
    shown: list[list[int]] = []

    def judge(missed: list[tuple[int, ev.LedgerEvent]], store: ChunkedAppend) -> None:
        shown.append([position for position, _ in missed])
        store.add([event])

    def failing_judge(missed: list[tuple[int, ev.LedgerEvent]], store: ChunkedAppend) -> None:
        store.add([event])
        raise RuntimeError("judging failed")

    with pytest.raises(RuntimeError):
        service.store.append_judged(head - 1, failing_judge)
    assert service.store.head() == head, "a failed judgement stored something"
    stored = service.store.append_judged(head - 1, judge)
    assert shown == [[head]], "the event stored after the writer's position was not shown"
    assert stored[0][0] > head and stored[0][1] is event
    assert [p for p, _ in service.store.read_all(after=head)] == [stored[0][0]]
