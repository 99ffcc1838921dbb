"""The event table partitioned by position range (issue 21, migration 024): partitions made
ahead by the writer, INV-16 on every partition, reads that cross a boundary (verify, export,
projections caught up and rebuilt), indexes used, and the upgrade of a log stored before.

Partitions here are a few positions long (`ledger.event_partition_size`, read by migration 024
from the database's settings), so a handful of postings crosses several boundaries.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from api.auth import KeyRing
from ledger.integrity import evidence
from ledger.integrity.bundle_verifier import check_bundle
from ledger.integrity.checkpoints import make_checkpoint
from ledger.integrity.verify import verify_log
from ledger.service import LedgerService
from ledger.storage import migrations
from projections import all_projections
from projections.projectors import Projectors
from projections.rebuild import rebuild
from tests.builders import cn_patent, licence, party, patent, transfer, uscc
from tests.ledger_fixtures import KEY_SETTING, answered, auth, wait_projected

SIZE = 7  # positions a partition
A, B, C = uscc(80), uscc(81), uscc(82)
NUMBERS = [cn_patent(2016, 1, 800 + i) for i in range(4)]
HISTORY = """query($n: String!) { patent(number: $n) { owners { party { id } share }
    licenceCount history(first: 50) { edges { position dealId kind } } } }"""


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """Every test here sets the partition size, or stops at migration 023, before the first
    start: an empty database, not the migrated copy the other tests get."""
    return empty_database_url


def small_partitions(database_url: str) -> None:
    """Partitions of SIZE positions for this database (before the ledger migrates it)."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET ledger.event_partition_size = {}").format(
            sql.Identifier(name), sql.Literal(str(SIZE))))


@pytest.fixture
def small(database_url: str) -> Iterator[LedgerService]:
    small_partitions(database_url)
    svc = LedgerService(database_url).start()
    yield svc
    svc.stop()


@pytest.fixture
def client(small: LedgerService) -> Iterator[TestClient]:
    with TestClient(create_app(small, KeyRing.from_setting(KEY_SETTING)),
                    headers=auth("platform")) as test_client:
        yield test_client


def market(client: TestClient, rounds: int = 3) -> None:
    """3 parties, 4 patents, then `rounds` of a transfer and a licence on each patent: 7 + 8 *
    rounds events, their deals and patents spread over many partitions."""
    for pid in (A, B, C):
        party(client, pid)
    for number in NUMBERS:
        patent(client, number, {A: "1"})
    owner = {number: A for number in NUMBERS}
    for r in range(rounds):
        for i, number in enumerate(NUMBERS):
            buyer = B if owner[number] == A else A
            response = client.post("/v1/deals", json=transfer(
                f"T{r}-{i}", [number], [owner[number]], {buyer: "1"}, f"{2018 + 2 * r}-0{i + 1}-01"))
            assert response.status_code == 201, response.text
            owner[number] = buyer
            response = client.post("/v1/deals", json=licence(
                f"L{r}-{i}", [number], [buyer], C, starts_on=f"{2018 + 2 * r}-0{i + 1}-02",
                ends_on=f"{2018 + 2 * r}-12-31"))
            assert response.status_code == 201, response.text


def partitions(database_url: str) -> list[tuple[str, int | None, int]]:
    with psycopg.connect(database_url) as conn:
        return [(r[0], r[1], r[2]) for r in conn.execute(
            "SELECT name, from_position, to_position FROM ledger_event_partitions").fetchall()]


def test_the_writer_makes_partitions_ahead_and_every_event_lands_in_its_range(
        client: TestClient, small: LedgerService) -> None:
    market(client)
    head = small.store.head()
    assert head == 31
    made = partitions(small.database_url)
    assert [(low, high) for _, low, high in made] == [
        (1 + SIZE * k, 1 + SIZE * (k + 1)) for k in range(len(made))]
    assert made[-1][2] - head > SIZE // 2, "half a partition of room stays ahead of the head"
    with psycopg.connect(small.database_url) as conn:
        placed = conn.execute(
            "SELECT tableoid::regclass::text, min(notification_id), max(notification_id),"
            " count(*) FROM ledger_events GROUP BY 1 ORDER BY 2").fetchall()
        doubled = conn.execute("SELECT originator_id, originator_version FROM ledger_events"
                               " GROUP BY 1, 2 HAVING count(*) > 1").fetchall()
        positions = [r[0] for r in conn.execute(
            "SELECT notification_id FROM ledger_events ORDER BY 1").fetchall()]
    assert len(placed) == (head + SIZE - 1) // SIZE  # every partition up to the head used
    for name, low, high, _ in placed:
        assert name == f"ledger_events_from_{1 + (low - 1) // SIZE * SIZE}" and \
            (high - 1) // SIZE == (low - 1) // SIZE
    assert doubled == [] and positions == list(range(1, head + 1))


def test_inv16_refuses_update_delete_and_truncate_on_every_partition(
        client: TestClient, small: LedgerService) -> None:
    market(client, rounds=1)
    with psycopg.connect(small.database_url, autocommit=True) as conn:
        names = [name for name, _, _ in partitions(small.database_url)]
        assert len(names) >= 3
        for table in ("ledger_events", names[0], names[1], names[-1]):
            for statement in (f"UPDATE {table} SET topic = 'x'",
                              f"DELETE FROM {table}", f"TRUNCATE {table}"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="INV-16"):
                    conn.execute(statement)
        stored = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert stored is not None and stored[0] == small.store.head()


def test_the_writers_lock_still_serializes_inserts_into_any_partition(
        client: TestClient, small: LedgerService) -> None:
    """`LOCK TABLE ledger_events IN EXCLUSIVE MODE` reaches every partition: an insert aimed at
    the parent or straight at a partition waits for the lock holder."""
    market(client, rounds=1)
    newest = partitions(small.database_url)[-1][0]
    with psycopg.connect(small.database_url) as holder:
        holder.execute("LOCK TABLE ledger_events IN EXCLUSIVE MODE")
        with psycopg.connect(small.database_url) as other:
            for table in ("ledger_events", newest):
                other.execute("SET lock_timeout = '300ms'")
                with pytest.raises(psycopg.errors.LockNotAvailable):
                    other.execute(f"INSERT INTO {table} (originator_id, originator_version,"
                                  " topic, state, notification_id) VALUES"
                                  " (gen_random_uuid(), 1, 'T', '{}', 10000)")
                other.rollback()
        holder.rollback()


def test_reads_by_originator_and_by_position_use_each_partitions_index(
        client: TestClient, small: LedgerService) -> None:
    market(client, rounds=1)
    with psycopg.connect(small.database_url) as conn:
        conn.execute("ANALYZE ledger_events")
        conn.execute("SET enable_seqscan = off")  # tiny tables: ask whether an index exists
        by_position = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT * FROM ledger_events WHERE notification_id > 9"
            " AND notification_id <= 12 ORDER BY notification_id LIMIT 5").fetchall())
        by_stream = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT * FROM ledger_events WHERE originator_id ="
            " (SELECT originator_id FROM ledger_events WHERE notification_id = 1)"
            " ORDER BY originator_version").fetchall())
    assert "ledger_events_from_8" in by_position and "ledger_events_from_15" not in by_position
    assert "Seq Scan" not in by_position and "Index" in by_position
    assert "Seq Scan" not in by_stream and "_pkey" in by_stream


def test_verify_and_export_cross_partition_boundaries(
        client: TestClient, small: LedgerService, tmp_path: Path) -> None:
    market(client)
    head = small.store.head()
    verdict = verify_log(small.database_url)
    assert verdict.holds and verdict.events == verdict.linked == head
    key = Ed25519PrivateKey.generate()
    assert make_checkpoint(small.database_url, key) is not None
    events, _ = evidence.export_bundle(small.database_url, tmp_path / "all", key.public_key())
    assert events == head and check_bundle(tmp_path / "all") is None
    after = SIZE + 3  # from the middle of the second partition
    events, _ = evidence.export_bundle(small.database_url, tmp_path / "part", key.public_key(),
                                       after)
    assert events == head - after and check_bundle(tmp_path / "part") is None
    lines = (tmp_path / "part" / "events.jsonl").read_text().splitlines()
    assert [json.loads(line)["position"] for line in lines] == list(range(after + 1, head + 1))
    # An event changed in a later partition (triggers off, as a superuser could) is found.
    target = 2 * SIZE + 4
    with psycopg.connect(small.database_url) as conn:
        conn.execute("ALTER TABLE ledger_events DISABLE TRIGGER USER")
        conn.execute("UPDATE ledger_events SET state = state || '\\x20'::bytea"
                     " WHERE notification_id = %s", (target,))
        conn.execute("ALTER TABLE ledger_events ENABLE TRIGGER USER")
    broken = verify_log(small.database_url).broken
    assert broken is not None and broken.position == target


def test_projections_catch_up_and_rebuild_across_partitions(
        client: TestClient, small: LedgerService) -> None:
    market(client)
    running = Projectors(small.database_url, small.store, small.metrics).start()
    try:
        before = {n: answered(client, running, HISTORY, n=n) for n in NUMBERS}
        wait_projected(running, small.store.head())
    finally:
        running.stop()
    for number in NUMBERS:
        events = before[number]["patent"]["history"]["edges"]
        assert len(events) == 7  # registered, then 3 transfers and 3 licences
        assert len({(p - 1) // SIZE for p in (e["position"] for e in events)}) >= 3
    for projection in all_projections():
        assert rebuild(small.database_url, small.store, projection) == small.store.head()
    running = Projectors(small.database_url, small.store, small.metrics).start()
    try:
        assert {n: answered(client, running, HISTORY, n=n) for n in NUMBERS} == before
    finally:
        running.stop()


def test_a_log_stored_before_partitioning_is_attached_without_a_rewrite(
        database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A database at the migrations before 024 with events in it: 024 attaches the old table as
    the first partition (the same file on disk: not copied), and the log goes on after it."""
    every = migrations.migration_files

    def before_024(directory: Path = migrations.MIGRATIONS_DIR) -> list[Path]:
        return [p for p in every(directory) if p.name < "024"]

    monkeypatch.setattr(migrations, "migration_files", before_024)
    old = LedgerService(database_url).start()
    with TestClient(create_app(old, KeyRing.from_setting(KEY_SETTING)),
                    headers=auth("platform")) as old_client:
        market(old_client, rounds=1)
    old.stop()
    with psycopg.connect(database_url) as conn:
        kind, file = conn.execute("SELECT relkind, relfilenode FROM pg_class"
                                  " WHERE oid = 'ledger_events'::regclass").fetchone() or (0, 0)
        stored = conn.execute("SELECT notification_id, originator_id, originator_version, topic,"
                              " state FROM ledger_events ORDER BY 1").fetchall()
    assert kind == "r" and len(stored) == 15
    monkeypatch.setattr(migrations, "migration_files", every)
    small_partitions(database_url)
    new = LedgerService(database_url).start()
    try:
        with psycopg.connect(database_url) as conn:
            kind = conn.execute("SELECT relkind FROM pg_class"
                                " WHERE oid = 'ledger_events'::regclass").fetchone()
            history = conn.execute("SELECT relfilenode FROM pg_class"
                                   " WHERE oid = 'ledger_events_history'::regclass").fetchone()
            assert kind == ("p",) and history == (file,)
            assert conn.execute("SELECT notification_id, originator_id, originator_version,"
                                " topic, state FROM ledger_events ORDER BY 1"
                                " LIMIT 15").fetchall() == stored
        assert partitions(database_url)[0] == ("ledger_events_history", None, 16)
        with TestClient(create_app(new, KeyRing.from_setting(KEY_SETTING)),
                        headers=auth("platform")) as new_client:
            for i, number in enumerate(NUMBERS):
                response = new_client.post("/v1/deals", json=licence(
                    f"N{i}", [number], [B], C, starts_on="2021-01-01", ends_on="2021-06-30"))
                assert response.status_code == 201, response.text
        assert new.store.head() == 19
        assert partitions(database_url)[1][:2] == ("ledger_events_from_16", 16)
        verdict = verify_log(database_url)
        assert verdict.holds and verdict.events == 19
        with psycopg.connect(database_url, autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="INV-16"):
                conn.execute("TRUNCATE ledger_events_history")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="INV-16"):
                conn.execute("DELETE FROM ledger_events_history WHERE notification_id = 1")
    finally:
        new.stop()


def test_two_writers_crossing_boundaries_together_lose_and_double_nothing(
        database_url: str) -> None:
    """Two writer processes' stores (two services on one database) post at once; partitions
    are made by whichever reaches a boundary, under the lock; the other learns of them."""
    small_partitions(database_url)
    first, second = LedgerService(database_url).start(), LedgerService(database_url).start()
    try:
        apps = [create_app(s, KeyRing.from_setting(KEY_SETTING)) for s in (first, second)]
        with TestClient(apps[0], headers=auth("platform")) as setup:
            for pid in (A, B, C):
                party(setup, pid)
        failures: list[str] = []

        def post(app: object, base: int) -> None:
            with TestClient(app, headers=auth("platform")) as c:  # type: ignore[arg-type]
                for i in range(12):
                    response = c.post("/v1/patents", json={
                        "number": cn_patent(2017, 1, base + i), "title": "t",
                        "filed_on": "2017-01-01", "granted_on": "2019-01-01",
                        "owners": [{"party": A, "share": "1"}]})
                    if response.status_code != 201:
                        failures.append(response.text)

        threads = [threading.Thread(target=post, args=(app, 900 + 50 * k))
                   for k, app in enumerate(apps)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        with psycopg.connect(database_url) as conn:
            positions = [r[0] for r in conn.execute(
                "SELECT notification_id FROM ledger_events ORDER BY 1").fetchall()]
        assert positions == list(range(1, 28))
        assert verify_log(database_url).holds
    finally:
        first.stop()
        second.stop()
