"""Numbered SQL files in `migrations/`, applied once each, in order, under an advisory lock.

The event store's own table belongs to eventsourcing; these files add what the ledger needs
around it (the INV-16 triggers now, read-model tables later). Each applied file's checksum is
kept, so a file changed after it was applied is reported instead of silently skipped.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_LOCK_KEY = 0x6D696772  # "migr"
LOCK_WAIT_SECONDS = 60


class MigrationError(RuntimeError):
    pass


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    files = sorted(directory.glob("[0-9][0-9][0-9]_*.sql"))
    numbers = [f.name[:3] for f in files]
    if len(set(numbers)) != len(numbers):
        raise MigrationError(f"two migrations share a number in {directory}")
    return files


def migrate(database_url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the files not yet applied; returns their names. Safe to run concurrently."""
    applied_now: list[str] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        _take_lock(conn)
        try:
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
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now


def _take_lock(conn: psycopg.Connection) -> None:
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,)).fetchone()
        if row and row[0]:
            return
        if time.monotonic() > deadline:
            raise MigrationError(f"another migration held the lock for {LOCK_WAIT_SECONDS}s")
        time.sleep(0.2)
