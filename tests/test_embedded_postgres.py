"""The embedded cluster: data survives a restart, start() re-attaches, missing binaries say how."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger.embedded_postgres import EmbeddedPostgres, PostgresBinariesMissing, find_postgres_bin_dir


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ledger-embedded-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_data_survives_a_restart_and_start_reattaches(data_dir: Path) -> None:
    first = EmbeddedPostgres(data_dir, fsync=False)
    url = first.create_database("keep") if first.start() else ""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    assert first.start() == first.url(), "a second start re-attaches to the running server"
    first.stop()

    second = EmbeddedPostgres(data_dir, fsync=False)
    second.start()
    try:
        assert second.port == first.port
        with psycopg.connect(second.url("keep")) as conn:
            assert conn.execute("SELECT n FROM kept").fetchone() == (42,)
    finally:
        second.stop()


def test_missing_binaries_say_how_to_install(monkeypatch: pytest.MonkeyPatch,
                                             data_dir: Path) -> None:
    monkeypatch.setenv("PG_BIN", str(data_dir))  # a directory with no initdb
    with pytest.raises(PostgresBinariesMissing, match=r"apt-get install -y postgresql"):
        find_postgres_bin_dir()
