"""Numbered SQL files in `migrations/`, applied once each, in order, under an advisory lock.

The event store's own table belongs to eventsourcing; these files add what the ledger needs
around it (the INV-16 triggers now, read-model tables later). Each applied file's checksum is
kept, so a file changed after it was applied is reported instead of silently skipped.

Every change to the schema at start-up takes the same lock (`schema_lock`): the migrations
here, and eventsourcing's own `CREATE TABLE IF NOT EXISTS` / `CREATE OR REPLACE FUNCTION`
(ledger/storage/store.py `open_store`). Those statements are not safe side by side: two processes
replacing the same function at once fail with "tuple concurrently updated", and two creating
the same table with a duplicate key in pg_type. Two `serve` processes started at the same
moment on one database did exactly that; under the lock the second waits, then finds
everything in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_LOCK_KEY = 0x6D696772  # "migr"
LOCK_WAIT_SECONDS = 60  # the longest a process waits for another's schema changes


class MigrationError(RuntimeError):
    pass


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    files = sorted(directory.glob("[0-9][0-9][0-9]_*.sql"))
    numbers = [f.name[:3] for f in files]
    if len(set(numbers)) != len(numbers):
        raise MigrationError(f"two migrations share a number in {directory}")
    return files


@contextmanager
def schema_lock(database_url: str) -> Iterator[psycopg.Connection]:
    """Hold the schema lock (a session advisory lock on a connection of its own) for the
    block; yields that connection. It is released when the block ends, and by the server if
    this process dies holding it, since the lock goes with the connection."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        _take_lock(conn)
        try:
            yield conn
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def migrate(database_url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the files not yet applied; returns their names. Safe to run concurrently."""
    applied_now: list[str] = []
    with schema_lock(database_url) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS ledger_migrations ("
            " name text PRIMARY KEY, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done: dict[str, str] = dict(
            conn.execute("SELECT name, checksum FROM ledger_migrations").fetchall()
        )
        for path in migration_files(directory):
            sql = path.read_text()
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if path.name in done:
                if done[path.name] != checksum:
                    raise MigrationError(
                        f"{path.name} changed after it was applied; add a new file instead"
                    )
                continue
            with conn.transaction():
                conn.execute(sql.encode())
                conn.execute(
                    "INSERT INTO ledger_migrations (name, checksum) VALUES (%s, %s)",
                    (path.name, checksum),
                )
            applied_now.append(path.name)
    return applied_now


def _take_lock(conn: psycopg.Connection) -> None:
    """Wait for the lock (woken the moment it is free), at most LOCK_WAIT_SECONDS."""
    conn.execute(f"SET lock_timeout = '{LOCK_WAIT_SECONDS}s'")
    try:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    except psycopg.errors.LockNotAvailable:
        raise MigrationError(f"another process held the schema lock for {LOCK_WAIT_SECONDS}s "
                             "(migrating or creating the event store's tables)") from None
    conn.execute("SET lock_timeout = 0")
