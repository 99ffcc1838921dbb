"""A hot standby of a running PostgreSQL cluster, on this machine: PostgreSQL's own streaming
replication, nothing home-made.

`HotStandby(primary_url, data_dir).start()` copies the primary with `pg_basebackup -R` (which
also writes `standby.signal` and `primary_conninfo`), then starts the copy read-only on a free
port and waits until it accepts reads. It is what the read-replica tests serve GraphQL from and
what the scale benchmark measures reads on; in production a replica is the operator's (any
streaming standby will do: the ledger only reads from it, LEDGER_READ_DATABASE_URL).

It runs the way `EmbeddedPostgres` runs the embedded cluster (same binaries, same options, as
the `postgres` OS user when we are root, listening on 127.0.0.1 only), so it is a subclass of
it whose "initdb" is a base backup. The primary must allow replication connections from
127.0.0.1 (the embedded cluster's pg_hba does) and run with wal_level=replica (PostgreSQL's
default) and some max_wal_senders (default 10).

A physical replication slot (created by pg_basebackup, dropped by `stop`) keeps the primary
from recycling WAL the standby has not yet received, so a standby that falls behind under a
bulk load catches up instead of failing; `stop` drops it, so a stopped standby does not make
the primary keep WAL for ever.
"""

from __future__ import annotations

import shlex
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import psycopg

from ledger.storage.embedded_postgres import EmbeddedPostgres

READY_TIMEOUT = 60.0  # seconds a base backup's server may take to accept reads
# A standby whose value is below its primary's cannot replay (PostgreSQL: "hot standby is not
# possible because of insufficient parameter settings").
_AT_LEAST_THE_PRIMARYS = ("max_connections", "max_worker_processes", "max_wal_senders",
                          "max_prepared_transactions", "max_locks_per_transaction")


class StandbyError(RuntimeError):
    """The standby could not be made or did not catch up in time; the message says which."""


class HotStandby(EmbeddedPostgres):
    """A streaming, read-only copy of the cluster at `primary_url`, in `data_dir/pgdata`.

    Interface (stable: the scale benchmark uses it): `start()` -> URL of its `postgres`
    database, `url(dbname)`, `port`, `replay_position()` (its replayed WAL LSN),
    `lag_bytes()`, `wait_caught_up(timeout)`, `stop()`; also a context manager.
    """

    def __init__(self, primary_url: str, data_dir: Path, *, port: int | None = None,
                 fsync: bool = False, slot: bool = True,
                 log: Callable[[str], None] | None = None) -> None:
        super().__init__(data_dir, port=port, fsync=fsync, log=log)
        self.primary_url = primary_url
        self.slot = f"standby_{uuid.uuid4().hex[:12]}" if slot else None

    def start(self) -> str:
        url = super().start()
        self._wait_accepting_reads()
        return url

    def database_url(self, primary_database_url: str) -> str:
        """The standby's URL for the same database as `primary_database_url` names."""
        name = urlsplit(primary_database_url).path.lstrip("/") or "postgres"
        return self.url(name)

    def replay_position(self) -> int:
        """The WAL position (LSN, as bytes from the start) the standby has replayed up to."""
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def lag_bytes(self) -> int:
        """How many bytes of WAL the primary has written that the standby has not replayed."""
        return max(_primary_lsn(self.primary_url) - self.replay_position(), 0)

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        """Waits until the standby has replayed everything the primary had written when called
        (so every transaction committed before the call is visible on the standby)."""
        target = _primary_lsn(self.primary_url)
        deadline = time.monotonic() + timeout
        while self.replay_position() < target:
            if time.monotonic() > deadline:
                raise StandbyError(f"the standby on port {self.port} did not replay up to the "
                                   f"primary's WAL position within {timeout} s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stops the standby (fast), then drops its replication slot on the primary."""
        super().stop()
        if self.slot is not None:
            self._drop_slot()

    def __enter__(self) -> HotStandby:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    # --- internals ----------------------------------------------------------------------

    def _initdb(self) -> None:
        """Not a new cluster: a base backup of the primary, set up to follow it (-R)."""
        self._log(f"taking a base backup of the primary into {self.pgdata}")
        argv = [str(self._binary("pg_basebackup")), "-d", _replication_dsn(self.primary_url),
                "-D", str(self.pgdata), "-R", "-X", "stream", "-c", "fast", "--no-sync"]
        if self.slot is not None:
            argv += ["-C", "-S", self.slot]
        done = self._run(argv, check=False)
        if done.returncode != 0:
            raise StandbyError(f"pg_basebackup failed:\n{done.stdout}{done.stderr}")

    def _server_options(self) -> str:
        """The embedded cluster's options, with the settings a hot standby must hold at least
        as high as its primary's (else it stops replaying) taken from the primary: given
        later on the command line, they win."""
        with psycopg.connect(self.primary_url, autocommit=True, connect_timeout=5) as conn:
            rows = conn.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                                (list(_AT_LEAST_THE_PRIMARYS),)).fetchall()
        extra = [arg for name, value in rows for arg in ("-c", f"{name}={value}")]
        return f"{super()._server_options()} {shlex.join(extra)}".strip()

    def _wait_accepting_reads(self) -> None:
        """pg_ctl -w returns once the server accepts connections; a standby accepts them only
        once consistent, but say so plainly if it ever does not."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                if not row or not row[0]:
                    raise StandbyError(f"the server on port {self.port} is not in recovery: "
                                       "not a standby")
                return
            except psycopg.OperationalError as error:
                if time.monotonic() > deadline:
                    raise StandbyError(f"the standby on port {self.port} did not accept reads "
                                       f"within {READY_TIMEOUT} s: {error}") from error
                time.sleep(0.1)

    def _drop_slot(self) -> None:
        """The walsender may outlive the standby by a moment: retry while the slot is active."""
        deadline = time.monotonic() + 10
        while True:
            try:
                with psycopg.connect(self.primary_url, autocommit=True, connect_timeout=5) as conn:
                    conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM "
                                 "pg_replication_slots WHERE slot_name = %s", (self.slot,))
                return
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    self._log(f"replication slot {self.slot} still in use; left on the primary")
                    return
                time.sleep(0.1)
            except psycopg.OperationalError as error:  # the primary is gone too
                self._log(f"could not drop replication slot {self.slot}: {error}")
                return


def _replication_dsn(url: str) -> str:
    """The primary's URL for pg_basebackup: the database named in it does not matter for a
    physical copy, and the tool wants one without it."""
    return urlsplit(url)._replace(path="").geturl()


def _primary_lsn(primary_url: str) -> int:
    with psycopg.connect(primary_url, autocommit=True, connect_timeout=5) as conn:
        # the insert position, not the written one: with synchronous_commit=off (the tests'
        # clusters) a commit is in WAL before it is written, and the standby gets it later
        row = conn.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn").fetchone()
    return int(row[0]) if row else 0
