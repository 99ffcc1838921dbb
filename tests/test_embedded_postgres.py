"""The embedded cluster: data survives a restart, start() re-attaches, missing binaries say how."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger.storage.embedded_postgres import EmbeddedPostgres, PostgresBinariesMissing, find_postgres_bin_dir


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Under /tmp rather than tmp_path: as root the server runs as `postgres`, which must reach it."""
    path = Path(tempfile.mkdtemp(prefix="ledger-embedded-"))
    yield path
    EmbeddedPostgres(path).stop()  # a failed test must not leave a server behind
    shutil.rmtree(path, ignore_errors=True)


def started_at(url: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
    assert row is not None
    return row[0]


def test_rows_survive_a_stop_and_a_start_by_a_new_object(data_dir: Path) -> None:
    first = EmbeddedPostgres(data_dir, fsync=False)
    first.start()
    url = first.create_database("keep")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    first.stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)

    second = EmbeddedPostgres(data_dir, fsync=False)
    second.start()
    assert second.port == first.port, "the port stored in data_dir/port is reused"
    assert second.create_database("keep") == url, "an existing database is no error"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT n FROM kept").fetchall() == [(42,)]


def test_start_twice_reattaches_to_the_running_server(data_dir: Path) -> None:
    cluster = EmbeddedPostgres(data_dir, fsync=False)
    url = cluster.start()
    since = started_at(url)

    assert cluster.start() == url
    assert EmbeddedPostgres(data_dir).start() == url, "a new object finds the server via postmaster.pid"
    assert started_at(url) == since, "still the same server process, answering"


def test_a_long_data_dir_gets_a_short_socket_dir(data_dir: Path) -> None:
    deep = data_dir / ("d" * 100)
    cluster = EmbeddedPostgres(deep, fsync=False)
    try:
        if os.geteuid() == 0:  # mkdtemp's 0700 keeps the `postgres` user out, and we say so
            with pytest.raises(RuntimeError, match=r"postgres OS user .* cannot reach"):
                cluster.start()
            data_dir.chmod(0o711)
        cluster.start()
        assert len(str(cluster.socket_dir)) < 92
        with psycopg.connect(host=str(cluster.socket_dir), port=cluster.port, user="postgres",
                             dbname="postgres") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        cluster.stop()
        shutil.rmtree(cluster.socket_dir, ignore_errors=True)


def test_missing_binaries_say_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no initdb, no pg_config
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    with pytest.raises(PostgresBinariesMissing, match=r"apt-get install -y postgresql"):
        find_postgres_bin_dir()

    monkeypatch.delenv("PG_BIN")
    with pytest.raises(PostgresBinariesMissing, match=r"LEDGER_DATABASE_URL"):
        find_postgres_bin_dir(search_dirs=[tmp_path])


def test_the_newest_installed_version_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    monkeypatch.delenv("PG_BIN", raising=False)
    dirs = [tmp_path / version / "bin" for version in ("9.6", "15", "13")]
    for bin_dir in dirs:
        bin_dir.mkdir(parents=True)
        for tool in ("initdb", "pg_ctl", "postgres"):
            (bin_dir / tool).touch(mode=0o755)
    assert find_postgres_bin_dir(search_dirs=dirs) == tmp_path / "15" / "bin"
