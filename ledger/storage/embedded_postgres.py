"""A PostgreSQL cluster of the ledger's own, started from the local binaries.

It is the embedded default of `patent-ledger serve` (no LEDGER_DATABASE_URL: the data lives in
LEDGER_DATA_DIR and survives restarts) and the tests' fallback when there is neither
TEST_DATABASE_URL nor a Docker engine. PostgreSQL refuses to run as root, so as root the
server runs as the `postgres` OS user, which must be able to reach the data directory.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

SERVER_USER = "postgres"  # the OS user the server runs as when we are root (Debian creates it)
INSTALL_HINT = (
    "Install them with `apt-get install -y postgresql` (Debian/Ubuntu), set PG_BIN to the "
    "directory holding initdb and pg_ctl, or set LEDGER_DATABASE_URL to use an existing "
    "PostgreSQL server instead."
)
# sun_path holds 108 bytes with its NUL; the server appends "/.s.PGSQL.<port>" (15 bytes).
_MAX_SOCKET_DIR = 107 - len("/.s.PGSQL.65535")


class PostgresBinariesMissing(RuntimeError):
    """No initdb/pg_ctl here: the message says how to get them or how to do without."""

    def __init__(self, detail: str = "PostgreSQL's server binaries (initdb, pg_ctl) were not found.") -> None:
        super().__init__(f"{detail} {INSTALL_HINT}")


def find_postgres_bin_dir(search_dirs: Sequence[Path] | None = None) -> Path:
    """Where initdb and pg_ctl live: Debian keeps them off PATH, in /usr/lib/postgresql/<ver>/bin.

    Order: PG_BIN, `pg_config --bindir`, the newest of `search_dirs` (default: the
    /usr/lib/postgresql/*/bin directories), initdb on PATH. A PG_BIN without the binaries is an
    error rather than a silent fallback, so a typo in it cannot pick another version.
    """
    if os.environ.get("PG_BIN"):
        pg_bin = Path(os.environ["PG_BIN"])
        if _has_server_binaries(pg_bin):
            return pg_bin
        raise PostgresBinariesMissing(f"PG_BIN={pg_bin} holds no initdb and pg_ctl.")
    dirs = _debian_bin_dirs() if search_dirs is None else list(search_dirs)
    candidates = [_pg_config_bindir(), *sorted(dirs, key=_version_key, reverse=True)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for candidate in candidates:
        if candidate is not None and _has_server_binaries(candidate):
            return candidate
    raise PostgresBinariesMissing()


class EmbeddedPostgres:
    """One cluster in `data_dir/pgdata`, listening on 127.0.0.1 only, trust authentication."""

    def __init__(self, data_dir: Path, *, port: int | None = None, fsync: bool = True,
                 log: Callable[[str], None] | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = self.data_dir / "pgdata"
        self._port = port
        self.started_here = False
        self._fsync = fsync
        self._log: Callable[[str], None] = log or (lambda message: None)
        self._bin: Path | None = None
        self._as_root = os.geteuid() == 0

    @property
    def port(self) -> int:
        """The requested port, else the one stored by an earlier start, else a free one."""
        if self._port is None:
            stored = self.data_dir / "port"
            self._port = int(stored.read_text()) if stored.exists() else _free_port()
        return self._port

    def url(self, dbname: str = "postgres") -> str:
        return _url(self.port, dbname)

    def start(self) -> str:
        """Idempotent: re-attaches to a server already running on this pgdata, else starts one."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._lock():  # two processes starting the same cluster must not both initdb
            running = self._running_port()
            self.started_here = running is None  # only who started it should stop it
            if running is not None:
                self._port = running
                self._log(f"re-attached to PostgreSQL on port {running} ({self.pgdata})")
            else:
                self._prepare_dirs()
                if not (self.pgdata / "PG_VERSION").exists():
                    self._initdb()
                self._pg_ctl_start()
                self._log(f"PostgreSQL started on port {self.port} with data in {self.pgdata}")
            (self.data_dir / "port").write_text(f"{self.port}\n")
        return self.url()

    def stop(self) -> None:
        """Fast shutdown: open transactions roll back instead of waiting for clients to leave."""
        if not (self.pgdata / "postmaster.pid").exists():
            return
        done = self._run([str(self._binary("pg_ctl")), "-D", str(self.pgdata), "-m", "fast",
                          "-w", "-t", "60", "stop"], check=False)
        if done.returncode != 0:
            self._log(f"pg_ctl stop failed: {done.stdout}{done.stderr}".strip())

    def create_database(self, name: str, template: str = "template0") -> str:
        """Creates `name` unless it exists (checked first: keeps ERROR lines out of the log)."""
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return self.url(name)
            try:
                conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)))
                self._log(f"created database {name}")
            except psycopg.errors.DuplicateDatabase:
                pass  # created concurrently by another process
        return self.url(name)

    @property
    def socket_dir(self) -> Path:
        """Inside data_dir when short enough for a unix socket path, else a per-cluster /tmp dir."""
        local = self.data_dir / "sock"
        if len(os.fsencode(local)) <= _MAX_SOCKET_DIR:
            return local
        return Path("/tmp") / f"ledger-pg-{hashlib.sha256(os.fsencode(self.data_dir)).hexdigest()[:16]}"

    # --- internals ----------------------------------------------------------------------

    def _binary(self, name: str) -> Path:
        if self._bin is None:
            self._bin = find_postgres_bin_dir()
        return self._bin / name

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with (self.data_dir / ".start.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _running_port(self) -> int | None:
        """The port of a live server on *this* pgdata, read from postmaster.pid, or None."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None  # stale pid file after a crash: the server's own start cleans it up
        except PermissionError:
            pass  # alive, owned by another user
        try:
            with psycopg.connect(_url(port, "postgres"), connect_timeout=3) as conn:
                row = conn.execute("SHOW data_directory").fetchone()
        except psycopg.Error:
            return None
        return port if row and _same_path(Path(row[0]), self.pgdata) else None

    def _prepare_dirs(self) -> None:
        """As root, `postgres` runs the server: it must reach data_dir and own what it writes."""
        self.socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        server = pwd.getpwnam(SERVER_USER) if self._as_root else None
        owners = {os.geteuid(), *([server.pw_uid] if server else [])}
        if self.socket_dir.is_symlink() or self.socket_dir.lstat().st_uid not in owners:
            raise RuntimeError(f"{self.socket_dir} belongs to someone else; remove it and retry")
        if server is None:
            return
        if self._run(["test", "-x", str(self.data_dir.parent)], check=False).returncode != 0:
            raise RuntimeError(
                f"the {SERVER_USER} OS user (PostgreSQL refuses to run as root) cannot reach "
                f"{self.data_dir.parent}: some directory on that path is not searchable by others. "
                "Choose a data directory outside /root (e.g. under /var/lib or /srv) or chmod o+x "
                "the blocking directories."
            )
        logfile = self.data_dir / "postgres.log"
        for path in (self.data_dir, self.socket_dir, *([logfile] if logfile.exists() else [])):
            os.chown(path, server.pw_uid, server.pw_gid)

    def _initdb(self) -> None:
        self._log(f"creating a PostgreSQL cluster in {self.pgdata}")
        self._run([str(self._binary("initdb")), "-D", str(self.pgdata), "-U", "postgres",
                   "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"])
        # initdb's trust file also covers ::1; say exactly what is allowed.
        hba = ("local all all trust\nhost all all 127.0.0.1/32 trust\n"
               "local replication all trust\nhost replication all 127.0.0.1/32 trust\n")
        (self.pgdata / "pg_hba.conf").write_text(hba)  # rewrites in place: the owner stays

    def _server_options(self) -> str:
        """Given on every start, so each run's fsync choice applies (`pg_ctl -o`)."""
        settings = {"listen_addresses": "127.0.0.1", "max_connections": "200",
                    "shared_buffers": "256MB"}
        if not self._fsync:  # throwaway test clusters only: a crash can corrupt the data
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        argv = ["-p", str(self.port), "-k", str(self.socket_dir)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        return shlex.join(argv)

    def _pg_ctl_start(self) -> None:
        logfile = self.data_dir / "postgres.log"
        done = self._run([str(self._binary("pg_ctl")), "-D", str(self.pgdata), "-o",
                          self._server_options(), "-l", str(logfile), "-w", "-t", "60", "start"],
                         check=False)
        if done.returncode != 0 or self._running_port() is None:
            tail = logfile.read_text(errors="replace").splitlines()[-30:] if logfile.exists() else []
            raise RuntimeError(f"PostgreSQL did not start on port {self.port}:\n{done.stdout}"
                               f"{done.stderr}\n--- last lines of {logfile} ---\n" + "\n".join(tail))

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        """Runs a server tool, as the `postgres` user when we are root (without root's groups)."""
        user = SERVER_USER if self._as_root else None
        done = subprocess.run(argv, capture_output=True, text=True, cwd="/", user=user,
                              group=user, extra_groups=[] if self._as_root else None)
        if check and done.returncode != 0:
            raise RuntimeError(f"{Path(argv[0]).name} failed:\n{done.stdout}{done.stderr}")
        return done


def _has_server_binaries(directory: Path) -> bool:
    return all(os.access(directory / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


def _debian_bin_dirs() -> list[Path]:
    return [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    """/usr/lib/postgresql/9.6/bin < .../15/bin; a non-numeric version sorts last."""
    return tuple(int(n) for n in re.findall(r"\d+", bin_dir.parent.name)) or (-1,)


def _url(port: int, dbname: str) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{quote(dbname, safe='')}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False
