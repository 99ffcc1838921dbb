"""The batch endpoint: per-deal results in order; `atomic: true` stores all or none."""

from __future__ import annotations

from functools import partial
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from ledger.engine.writer import _Posting
from ledger.integrity.verify import verify_log
from ledger.posting.commands import DealCommand
from ledger.posting.decisions import decide_deal
from ledger.service import LedgerService
from ledger.storage import group_append
from tests.builders import ACME, BETA, PATENT, event_count, licence, party, patent, pledge, uscc


def _setup(client: TestClient) -> None:
    party(client, ACME)
    party(client, BETA)
    party(client, uscc(7), kind="bank")
    patent(client, PATENT, {ACME: "1"})


def test_non_atomic_batch_stores_each_lawful_deal(client: TestClient) -> None:
    _setup(client)
    deals = [
        pledge("p1", [PATENT], [ACME], uscc(7)),
        pledge("p2", [PATENT], [ACME], uscc(7)),  # INV-9: already pledged
        licence("l1", [PATENT], [ACME], BETA, pledgee_consent=True),
    ]
    response = client.post("/v1/deals/batch", json={"deals": deals, "atomic": False})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 409, 201]
    assert results[1]["rule"] == "INV-9"
    assert results[1]["facts"]["blocking_pledge"] == "p1"
    assert event_count(client) == 4 + 2


def test_atomic_batch_with_one_refusal_stores_nothing(client: TestClient) -> None:
    _setup(client)
    deals = [
        pledge("p1", [PATENT], [ACME], uscc(7)),
        licence("l1", [PATENT], [ACME], BETA, starts_on="2020-07-01"),  # INV-10: no consent
    ]
    response = client.post("/v1/deals/batch", json={"deals": deals, "atomic": True})
    assert response.status_code == 409
    body = response.json()
    assert body["stored"] == 0
    assert body["results"][1]["rule"] == "INV-10"
    assert body["results"][0]["status"] == 424
    assert event_count(client) == 4
    # The pledge was not stored: posting it alone now succeeds.
    assert client.post("/v1/deals", json=deals[0]).status_code == 201


def test_atomic_batch_of_lawful_deals_stores_all(client: TestClient) -> None:
    _setup(client)
    deals = [pledge("p1", [PATENT], [ACME], uscc(7)),
             licence("l1", [PATENT], [ACME], BETA, pledgee_consent=True)]
    response = client.post("/v1/deals/batch", json={"deals": deals, "atomic": True})
    assert response.status_code == 200
    assert response.json()["stored"] == 2
    assert event_count(client) == 6


def test_a_batch_stored_in_several_chunks_keeps_log_order_and_the_chain(
        client: TestClient, service: LedgerService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer inserts a group chunk by chunk while it judges the rest: answers, log order
    and hash chain must come out as one insert would make them, a refusal between chunks
    included."""
    monkeypatch.setattr(group_append, "CHUNK", 2)
    _setup(client)
    head = service.store.head()
    deals = [licence(f"l{i}", [PATENT], [ACME], BETA, starts_on=f"2020-0{i + 1}-01")
             for i in range(7)]
    deals[3] = licence("x", [PATENT], [ACME], uscc(99))  # an unknown licensee: 422
    response = client.post("/v1/deals/batch", json={"deals": deals, "atomic": False})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 201, 422, 201, 201, 201]
    stored = [(position, event.deal_id) for position, event in service.store.read_all(head)]
    assert stored == [(r["position"], r["deal_id"]) for r in results if r["status"] == 201]
    assert [deal_id for _, deal_id in stored] == ["l0", "l1", "l2", "l4", "l5", "l6"]
    verdict = verify_log(service.database_url)
    assert verdict.holds and verdict.linked == verdict.events


def test_a_chunk_whose_answer_overflows_the_servers_buffer_answers_its_positions(
        client: TestClient, service: LedgerService, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk of 700 returns more positions than PostgreSQL buffers before it flushes, so
    part of its answer reaches the writer while the next chunk is being sent. Its positions
    must all come back: a NOTIFY sharing the insert's cursor once answered in its place
    ("the last operation didn't produce records") and the whole batch failed with 503."""
    monkeypatch.setattr(group_append, "CHUNK", 700)
    monkeypatch.setattr(group_append, "TAIL_CHUNK", 700)  # no smaller chunks at the end
    _setup(client)
    deals = [licence(f"l{i}", [PATENT], [ACME], BETA) for i in range(1_000)]
    response = client.post("/v1/deals/batch", json={"deals": deals, "atomic": False})
    assert response.status_code == 200, response.text[:500]
    positions = [r["position"] for r in response.json()["results"]]
    assert positions == sorted(positions) and len(set(positions)) == 1_000
    verdict = verify_log(service.database_url)
    assert verdict.holds and verdict.linked == verdict.events


def test_a_large_atomic_batch_sent_as_judged_is_taken_back_when_a_deal_fails(
        client: TestClient, service: LedgerService, monkeypatch: pytest.MonkeyPatch) -> None:
    """An atomic posting larger than a chunk is sent while it is judged, behind a savepoint:
    a refusal at its end takes back what was already inserted, and only that. Judged here
    as one group with a lawful posting before and after it."""
    monkeypatch.setattr(group_append, "CHUNK", 2)
    _setup(client)
    head = service.store.head()
    adapter: TypeAdapter[Any] = TypeAdapter(DealCommand)

    def posting(deals: list[dict[str, Any]], atomic: bool) -> _Posting:
        return _Posting([partial(decide_deal, cmd=adapter.validate_python(deal))
                         for deal in deals], "platform:test", atomic)

    before = posting([licence("a0", [PATENT], [ACME], BETA)], atomic=False)
    failing = posting([licence(f"x{i}", [PATENT], [ACME], BETA, starts_on=f"2021-0{i + 1}-01")
                       for i in range(5)]
                      + [licence("x5", [PATENT], [ACME], BETA, kind="exclusive")],  # INV-6
                      atomic=True)
    after = posting([licence("b0", [PATENT], [ACME], BETA, starts_on="2022-01-01")],
                    atomic=False)
    service.writer._commit_group([before, failing, after])

    outcomes = [[type(r.outcome).__name__ for r in p.future.result(10)]
                for p in (before, failing, after)]
    assert outcomes == [["Accepted"], ["Skipped"] * 5 + ["Refusal"], ["Accepted"]]
    stored = [event.deal_id for _, event in service.store.read_all(head)]
    assert stored == ["a0", "b0"]
    assert [r.positions[0] for p in (before, after) for r in p.future.result(10)] == \
        [position for position, _ in service.store.read_all(head)]
    verdict = verify_log(service.database_url)
    assert verdict.holds and verdict.linked == verdict.events
    lawful = [licence(f"y{i}", [PATENT], [ACME], BETA, starts_on=f"2023-0{i + 1}-01")
              for i in range(5)]
    response = client.post("/v1/deals/batch", json={"deals": lawful, "atomic": True})
    assert response.status_code == 200, response.text
    assert [e.deal_id for _, e in service.store.read_all(head)] == \
        ["a0", "b0", "y0", "y1", "y2", "y3", "y4"]
    assert verify_log(service.database_url).holds


def test_a_batch_whose_commit_fails_is_answered_503_and_leaves_no_trace(
        client: TestClient, service: LedgerService) -> None:
    """A COMMIT can fail after every deal was judged, applied to the register and inserted
    (here a deferred check refuses one deal at commit time): the caller hears 503, nothing is
    stored, and the register forgets the group's deals, so posting them again stores them."""
    _setup(client)
    head = service.store.head()
    with psycopg.connect(service.database_url, autocommit=True) as conn:
        conn.execute("""
            CREATE FUNCTION refuse_doomed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF convert_from(NEW.state, 'UTF8') LIKE '%doomed%' THEN
                    RAISE EXCEPTION 'refused at commit';
                END IF;
                RETURN NEW;
            END $$""")
        conn.execute("CREATE CONSTRAINT TRIGGER refuse_doomed AFTER INSERT ON ledger_events"
                     " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
                     " EXECUTE FUNCTION refuse_doomed()")
    deals = [licence(f"l{i}", [PATENT], [ACME], BETA) for i in range(5)]
    deals.append(licence("doomed", [PATENT], [ACME], BETA))
    response = client.post("/v1/deals/batch", json={"deals": deals})
    assert response.status_code == 503, response.text[:300]
    assert service.store.head() == head, "a failed commit stored something"
    with psycopg.connect(service.database_url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER refuse_doomed ON ledger_events")
    again = client.post("/v1/deals/batch", json={"deals": deals})
    assert again.status_code == 200
    assert [r["status"] for r in again.json()["results"]] == [201] * 6, (
        "the register kept deals whose commit failed (they answered as replays)")
