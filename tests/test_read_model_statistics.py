"""Read models that grow from nothing get planner statistics as they grow (projections/statistics.py).

Autovacuum looks at a table at most once a minute; a catch-up or a rebuild fills a projection's
tables faster than that, and every statement of its pages, and the flag settler's, was then
planned for empty tables. These tests read what the planner knows (`pg_class.reltuples`, -1 for
a table never analyzed) after a runner and a rebuild filled the tables from zero.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ledger.metrics import Metrics
from ledger.service import LedgerService
from projections import statistics
from projections.audit import AuditProjection
from projections.rebuild import rebuild
from projections.runner import ProjectionRunner
from tests.builders import ACME, cn_patent, party, patent, uscc


def _post_licences(client: TestClient, count: int) -> None:
    party(client, ACME)
    licensee = uscc(600)
    party(client, licensee)
    number = cn_patent(2015, 1, 1000)
    patent(client, number, {ACME: "1"}, filed_on="2015-03-01", granted_on="2017-05-01")
    deals = [{"deal_id": f"L-{d}", "kind": "licence", "effective_on": "2018-01-01",
              "patents": [number], "licensors": [ACME], "licensee": licensee,
              "licence_kind": "ordinary", "territory": "CN", "field": "*",
              "starts_on": "2018-01-01", "ends_on": "2020-12-31", "fee": {"mode": "free"}}
             for d in range(count)]
    response = client.post("/v1/deals/batch", json={"deals": deals})
    assert response.status_code == 200, response.text


def _planner_rows(conn: psycopg.Connection[Any], table: str) -> float:
    row = conn.execute("SELECT reltuples FROM pg_class WHERE relname = %s", (table,)).fetchone()
    assert row is not None
    return float(row[0])


def _rows(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    assert row is not None
    return int(row[0])


def test_a_projection_filled_from_zero_is_analyzed_as_its_position_doubles(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statistics, "ANALYZE_FIRST", 40)
    _post_licences(client, 300)
    head = service.store.head()
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert _planner_rows(conn, "rm_events") < 0, "the test wants a table never analyzed"
    follower = ProjectionRunner(database_url, service.store, AuditProjection(), Metrics(),
                                batch_size=25).start()
    try:
        deadline = time.monotonic() + 60
        while follower.position < head:
            assert time.monotonic() < deadline, "the projection did not reach the head"
            time.sleep(0.05)
    finally:
        follower.stop()
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows, known = _rows(conn, "rm_events"), _planner_rows(conn, "rm_events")
    assert rows == head
    # Analyzed at 50, 100, 200 (pages of 25 from 40 on): never less than half of what is there.
    assert rows / 2 <= known <= rows, f"the planner knows {known} of {rows} rows"


def test_a_rebuild_swaps_in_tables_that_are_already_analyzed(
        client: TestClient, service: LedgerService, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statistics, "ANALYZE_FIRST", 40)
    _post_licences(client, 300)
    position = rebuild(database_url, service.store, AuditProjection())
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows, known = _rows(conn, "rm_events"), _planner_rows(conn, "rm_events")
    assert rows == position == service.store.head()
    assert rows / 2 <= known <= rows, f"the planner knows {known} of {rows} rows"
