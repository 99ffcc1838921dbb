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
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from ledger.storage.embedded_postgres import EmbeddedPostgres

pytest_plugins = ["tests.ledger_fixtures"]


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


@pytest.fixture
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database for one test (CREATE DATABASE takes ~65 ms), dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    yield urlsplit(postgres_server_url)._replace(path=f"/{name}").geturl()
    with psycopg.connect(postgres_server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
