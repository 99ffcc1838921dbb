"""Database fixtures: a real PostgreSQL server for the session, a fresh database per test.

The server is TEST_DATABASE_URL when set; else a testcontainers PostgreSQL when a Docker
engine answers; else a throwaway cluster from the local binaries (`EmbeddedPostgres`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from ledger.storage.embedded_postgres import EmbeddedPostgres

pytest_plugins = ["tests.ledger_fixtures"]


# Files that each take minutes, handed out first (scripts/dev.sh runs pytest-xdist with
# --dist loadfile --no-loadscope-reorder, which keeps this order): each goes to one worker
# while the others' files fill the rest. Handed out by size, schemathesis (4 tests, some 8
# minutes on a slow machine) came last and ran alone while the other worker stood idle.
LONGEST_FIRST = ("test_schemathesis_run.py", "test_openapi_fuzz.py", "test_faults.py",
                 "test_bench_scale.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first, then the rest by their number of tests, most first (what
    xdist does by itself when it may reorder); tests within a file keep their order."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item.path.name] = counts.get(item.path.name, 0) + 1

    def rank(item: pytest.Item) -> tuple[int, int, str]:
        name = item.path.name
        first = LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)
        return first, -counts[name], name

    items.sort(key=rank)


def _docker_answers() -> bool:
    """A docker client without a daemon is common (CI, sandboxes): ask the engine, briefly."""
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A URL to the `postgres` maintenance database of a server the tests may create dbs on."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    if _docker_answers():
        try:
            from testcontainers.community.postgres import PostgresContainer
        except ImportError:  # testcontainers < 4.14
            from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", username="postgres", password="postgres",
                               dbname="postgres", driver=None) as container:
            yield container.get_connection_url()
        return
    # Not tmp_path_factory: its /tmp/pytest-of-<user> is mode 0700, and as root the server
    # runs as `postgres`, which must reach the directory.
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-test-pg-"))
    cluster = EmbeddedPostgres(data_dir, fsync=False)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def _database(server_url: str, template: str) -> Iterator[str]:
    """A new database copied from `template`, dropped afterwards (however the test ended)."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
    try:
        yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


@pytest.fixture(scope="session")
def migrated_template(postgres_server_url: str) -> Iterator[str]:
    """A database with every migration applied, made once per test process: each test copies
    it, rather than running the migrations again (a third of a second or more a test, for
    some 1,500 tests). A copy is what a started ledger's database is; the service still runs
    its start-up (migrations found applied, as on any restart)."""
    from ledger.service import LedgerService

    with _database(postgres_server_url, "template0") as url:
        LedgerService(url).start().stop()
        with psycopg.connect(postgres_server_url, autocommit=True, connect_timeout=10) as conn:
            # CREATE DATABASE ... TEMPLATE needs the template to itself.
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                         " WHERE datname = %s AND pid <> pg_backend_pid()",
                         (urlsplit(url).path.lstrip("/"),))
        yield urlsplit(url).path.lstrip("/")


@pytest.fixture
def database_url(postgres_server_url: str, migrated_template: str) -> Iterator[str]:
    """A fresh database for one test, its migrations applied, dropped afterwards."""
    with _database(postgres_server_url, migrated_template) as url:
        yield url


@pytest.fixture(scope="module")
def shared_database_url(postgres_server_url: str, migrated_template: str) -> Iterator[str]:
    """One database for a whole module whose tests store nothing (they ask who may pass, or
    read an empty ledger): a copy and a started service were most of each such test's time."""
    with _database(postgres_server_url, migrated_template) as url:
        yield url


@pytest.fixture
def empty_database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database (no migration run yet), for tests of what happens before and
    during the first start: settings that migrations read, two processes migrating at once."""
    with _database(postgres_server_url, "template0") as url:
        yield url
