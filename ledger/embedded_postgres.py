"""A PostgreSQL cluster of the ledger's own, started from the local binaries.

It is the embedded default of `patent-ledger serve` (no LEDGER_DATABASE_URL: the data lives in
LEDGER_DATA_DIR and survives restarts) and the tests' fallback when there is neither
TEST_DATABASE_URL nor a Docker engine. PostgreSQL refuses to run as root, so as root the
server runs as the `postgres` OS user, which must be able to reach the data directory.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) were not found. Install them with "
    "`apt-get install -y postgresql` (Debian/Ubuntu), set PG_BIN to their directory, or point "
    "LEDGER_DATABASE_URL at an existing PostgreSQL server."
)
_SOCKET_PATH_LIMIT = 100  # unix socket paths are limited to about 107 bytes


class PostgresBinariesMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


def find_postgres_bin_dir(search: Sequence[str] | None = None) -> Path:
    """PG_BIN, else `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin, else PATH."""
    candidates: list[str] = []
    if os.environ.get("PG_BIN"):
        candidates.append(os.environ["PG_BIN"])
    elif search is None:
        pg_config = shutil.which("pg_config")
        if pg_config:
            done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
            candidates.append(done.stdout.strip())
        versions = glob.glob("/usr/lib/postgresql/*/bin")
        candidates += sorted(versions, key=lambda p: int(p.split("/")[-2]), reverse=True)
        initdb = shutil.which("initdb")
        if initdb:
            candidates.append(str(Path(initdb).resolve().parent))
    candidates += list(search or [])
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file() and (
            Path(candidate) / "pg_ctl"
        ).is_file():
            return Path(candidate)
    raise PostgresBinariesMissing()


class EmbeddedPostgres:
    """One cluster in `data_dir/pgdata`, listening on 127.0.0.1 only, trust authentication."""

    def __init__(self, data_dir: Path, *, port: int | None = None, fsync: bool = True,
                 log: Callable[[str], None] | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = self.data_dir / "pgdata"
        self._port = port
        self._fsync = fsync
        self._log = log or (lambda message: None)
        self._bin: Path | None = None
        self._as_root = os.geteuid() == 0

    # --- public -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            stored = self.data_dir / "port"
            self._port = int(stored.read_text()) if stored.exists() else _free_port()
        return self._port

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> str:
        """Create the cluster if needed, start it unless it already runs; returns its URL."""
        self._bin = find_postgres_bin_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "port").write_text(str(self.port))
        self._grant_server_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        if self._answers():
            self._log(f"re-attached to PostgreSQL on port {self.port}")
            return self.url()
        self._pg_ctl_start()
        self._log(f"PostgreSQL started on port {self.port} with data in {self.pgdata}")
        return self.url()

    def stop(self) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        self._run([str(self._binary("pg_ctl")), "-D", str(self.pgdata), "-m", "fast", "-w",
                   "stop"], check=False)

    def create_database(self, name: str, template: str = "template0") -> str:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    # --- internals ----------------------------------------------------------------------

    def _binary(self, name: str) -> Path:
        if self._bin is None:
            self._bin = find_postgres_bin_dir()
        return self._bin / name

    @property
    def _socket_dir(self) -> Path:
        local = self.data_dir / "sock"
        if len(str(local)) < _SOCKET_PATH_LIMIT - 20:
            return local
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path("/tmp") / f"ledger-pg-{digest}"

    def _grant_server_user(self) -> None:
        """As root, the `postgres` user runs the server: it must own and reach the data."""
        self._socket_dir.mkdir(parents=True, exist_ok=True)
        if not self._as_root:
            return
        user = pwd.getpwnam("postgres")
        for path in (self.data_dir, self._socket_dir):
            os.chown(path, user.pw_uid, user.pw_gid)
        if self.pgdata.exists():
            os.chown(self.pgdata, user.pw_uid, user.pw_gid)
        blocked = [p for p in self.data_dir.parents if not _traversable_by(p, user)]
        if blocked:
            raise RuntimeError(
                f"the postgres OS user cannot reach {self.data_dir}: {blocked[0]} is not "
                "searchable by others (chmod o+x it, or choose another LEDGER_DATA_DIR)"
            )

    def _initdb(self) -> None:
        self._log(f"creating a PostgreSQL cluster in {self.pgdata}")
        self._run([str(self._binary("initdb")), "-D", str(self.pgdata), "-U", "postgres",
                   "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"])
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "max_connections": "200",
            "shared_buffers": "'256MB'",
        }
        if not self._fsync:  # throwaway test clusters only
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        with (self.pgdata / "postgresql.auto.conf").open("a") as conf:
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")

    def _pg_ctl_start(self) -> None:
        logfile = self.data_dir / "postgres.log"
        if self._as_root:
            logfile.touch()
            user = pwd.getpwnam("postgres")
            os.chown(logfile, user.pw_uid, user.pw_gid)
        options = f"-p {self.port} -k {self._socket_dir}"
        done = self._run([str(self._binary("pg_ctl")), "-D", str(self.pgdata), "-o", options,
                          "-l", str(logfile), "-w", "-t", "60", "start"], check=False)
        if done.returncode != 0 or not self._answers():
            tail = logfile.read_text().splitlines()[-30:] if logfile.exists() else []
            raise RuntimeError(
                "PostgreSQL did not start:\n" + done.stdout + done.stderr + "\n".join(tail)
            )

    def _answers(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self._as_root:
            kwargs = {"user": "postgres", "group": "postgres", "cwd": "/"}
        done = subprocess.run(argv, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
        if check and done.returncode != 0:
            raise RuntimeError(f"{Path(argv[0]).name} failed:\n{done.stdout}{done.stderr}")
        return done


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _traversable_by(path: Path, user: pwd.struct_passwd) -> bool:
    info = path.stat()
    if info.st_uid == user.pw_uid:
        return bool(info.st_mode & 0o100)
    if info.st_gid == user.pw_gid:
        return bool(info.st_mode & 0o010)
    return bool(info.st_mode & 0o001)
