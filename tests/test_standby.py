"""ledger/storage/standby.py: a real hot standby of the tests' cluster follows the primary,
refuses writes, and leaves no replication slot behind when stopped."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from ledger.storage.standby import HotStandby
from tests.replica_fixtures import standby  # noqa: F401  (fixture)


def test_standby_follows_the_primary_and_refuses_writes(
        standby: HotStandby, database_url: str) -> None:  # noqa: F811
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE held (n int)")
        conn.execute("INSERT INTO held VALUES (7)")
    standby.wait_caught_up(timeout=30)
    with psycopg.connect(standby.database_url(database_url), autocommit=True) as conn:
        assert conn.execute("SELECT n FROM held").fetchall() == [(7,)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO held VALUES (8)")
    assert standby.lag_bytes() >= 0


def test_a_stopped_standby_leaves_no_slot_on_the_primary(postgres_server_url: str) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-test-standby-"))
    try:
        with HotStandby(postgres_server_url, data_dir) as replica:
            with psycopg.connect(postgres_server_url, autocommit=True) as conn:
                slots = [r[0] for r in conn.execute("SELECT slot_name FROM pg_replication_slots")]
            assert replica.slot in slots
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            slots = [r[0] for r in conn.execute("SELECT slot_name FROM pg_replication_slots")]
        assert replica.slot not in slots
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(replica.url(), connect_timeout=2)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
