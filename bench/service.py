"""`patent-ledger serve` run by the benchmarks as a user runs it, and what they read from outside.

The service is started through the same console entry point the README's
`bash scripts/dev.sh serve` execs (`.venv/bin/patent-ledger serve`), with its default options,
on the embedded PostgreSQL kept in a data directory of the benchmark's own (never the
developer's `.ledger-data/`: every LEDGER_* variable of the caller's environment is dropped).
Every wait is bounded and fails with what the service printed; memory is read from /proc for
the serve process and all its descendants (batch preparer, projector child...), and for the
PostgreSQL server apart, since the embedded cluster's processes belong to PostgreSQL's own
session.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

KEY = "bench-platform-key-0123456789"
AUDITOR_KEY = "bench-auditor-key-0123456789"  # anomalies and credit are not for platforms
STOP_WITHIN = 60.0  # seconds a SIGTERM may take before the service is killed
POLL_SECONDS = 0.02  # /healthz and projection positions are polled this often
REQUEST_TIMEOUT = 120.0  # seconds one request may take before the run fails
LOG_TAIL = 40  # lines of the service's output quoted when it fails
POSTGRES_PROGRAMS = frozenset({"pg_ctl", "postgres", "initdb"})  # PostgreSQL's, not serve's


class ServiceFailed(RuntimeError):
    """The service did not do what a wait expected in time: the message says what and shows
    the end of its output."""


def entry_point() -> list[str]:
    """The console script the README's serve execs, else the module it runs."""
    script = shutil.which("patent-ledger", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "api.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Memory:
    """One reading of a set of processes: resident set summed (shared pages counted in each),
    proportional set summed when every smaps_rollup was readable (else None)."""

    processes: int
    rss_mib: float
    pss_mib: float | None


class Service:
    """One `patent-ledger serve` subprocess in its own session (so stopping it can never reach
    a process the benchmark did not start)."""

    def __init__(self, data_dir: Path, *, projections: bool = True,
                 database_url: str | None = None, workers: int = 1) -> None:
        self.data_dir = data_dir
        self.projections = projections
        self.workers = workers  # `serve --workers N` (issue 21); 1: the README's plain serve
        self.database_url = database_url  # None: the embedded cluster in data_dir, as the README
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"serve-{data_dir.name}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0  # perf_counter when the process was started
        self.extra_env: dict[str, str] = {}  # LEDGER_* settings of this serve (issue 21: replicas)

    @property
    def command(self) -> list[str]:
        return [*entry_point(), "serve", *([] if self.projections else ["--no-projections"]),
                *([] if self.workers == 1 else ["--workers", str(self.workers)])]

    def start(self, healthy_within: float) -> float:
        """Start the process; seconds from its start until /healthz answered 200."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env.update(LEDGER_DATA_DIR=str(self.data_dir), LEDGER_PORT=str(self.port),
                   LEDGER_API_KEYS=f"platform:{KEY},auditor:{AUDITOR_KEY}")
        if self.database_url:
            env["LEDGER_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.started_at = time.perf_counter()
            self.process = subprocess.Popen(self.command, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = self.started_at + healthy_within
        with httpx.Client(timeout=2) as client:
            while time.perf_counter() < deadline:
                if self.process.poll() is not None:
                    raise self.failed(f"serve exited with {self.process.returncode} at start")
                try:
                    if client.get(self.url + "/healthz").status_code == 200 and self.listening:
                        return time.perf_counter() - self.started_at
                except httpx.HTTPError:
                    pass
                time.sleep(POLL_SECONDS)
        raise self.failed(f"/healthz did not answer 200 within {healthy_within:.0f} s")

    @property
    def listening(self) -> bool:
        """Every worker listens: one answer to /healthz may come from the first alone."""
        return self.workers == 1 or "serving on" in self.log_path.read_text(errors="replace")

    def failed(self, what: str) -> ServiceFailed:
        tail = (self.log_path.read_text(errors="replace").splitlines()[-LOG_TAIL:]
                if self.log_path.exists() else [])
        return ServiceFailed(f"{what} ({' '.join(self.command)}, data in {self.data_dir});"
                             f" last lines of {self.log_path}:\n" + "\n".join(tail))

    def stop(self) -> None:
        """SIGTERM (serve's clean exit: the writer, projections and the cluster it started stop),
        then SIGKILL to the whole session if it takes longer than STOP_WITHIN."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            raise self.failed(f"serve ignored SIGTERM for {STOP_WITHIN:.0f} s and was killed"
                              ) from None

    def pids(self) -> list[int]:
        """The serve process and every descendant, as /proc lists them now, but not the
        PostgreSQL it starts: pg_ctl and the postmaster hang below serve until the server
        is up, and are counted with PostgreSQL's processes."""
        if self.process is None or self.process.poll() is not None:
            return []
        return process_tree(self.process.pid, skip=POSTGRES_PROGRAMS)

    def memory(self) -> Memory:
        return memory_of(self.pids())

    def cpu_seconds(self) -> tuple[float, float]:
        """User + system CPU of the serve process, and of its descendants together: steadier
        than wall time on a shared machine."""
        pids = self.pids()
        return (cpu_seconds(pids[0]) if pids else 0.0,
                sum(cpu_seconds(pid) for pid in pids[1:]))

    def peak_rss_mib(self) -> tuple[float, float]:
        """Peak resident memory (VmHWM) of the serve process, and the largest of its
        descendants'."""
        pids = self.pids()
        return (_status_kib(pids[0], "VmHWM") / 1024 if pids else 0.0,
                max((_status_kib(pid, "VmHWM") / 1024 for pid in pids[1:]), default=0.0))

    def embedded_url(self, dbname: str = "ledger") -> str:
        """The embedded cluster's database (its port is kept in the data directory)."""
        from ledger.storage.embedded_postgres import EmbeddedPostgres

        return self.database_url or EmbeddedPostgres(self.data_dir).url(dbname)

    def postgres_pids(self) -> list[int]:
        """The embedded cluster's postmaster and its children (empty with an outside server)."""
        try:
            pid = int((self.data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return process_tree(pid)


# --- /proc ----------------------------------------------------------------------------------


def process_tree(root: int, skip: frozenset[str] = frozenset()) -> list[int]:
    """`root` and its descendants; a process running one of the `skip` programs is left out
    with everything below it."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() in skip:
                continue
        except OSError:
            continue
        found.append(pid)
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue  # exited meanwhile
    return found


def memory_of(pids: list[int]) -> Memory:
    rss, pss, pss_readable, counted = 0.0, 0.0, True, 0
    for pid in pids:
        resident = _status_kib(pid, "VmRSS")
        if resident != resident:  # NaN: the process is gone
            continue
        counted += 1
        rss += resident / 1024
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) / 1024
                    break
        except OSError:
            pss_readable = False
    return Memory(counted, rss, pss if pss_readable else None)


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


class MemoryWatch:
    """Samples a service's processes (and its PostgreSQL's) every `every` seconds; keeps the
    largest sums seen, so a peak between two readings of a phase is not missed."""

    def __init__(self, service: Service, every: float = 0.5) -> None:
        self.service, self.every = service, every
        self.serve = Memory(0, 0.0, None)
        self.postgres = Memory(0, 0.0, None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def _sample(self) -> None:
        self.serve = _larger(self.serve, self.service.memory())
        self.postgres = _larger(self.postgres, memory_of(self.service.postgres_pids()))


def _larger(a: Memory, b: Memory) -> Memory:
    pss = [m.pss_mib for m in (a, b) if m.pss_mib is not None]
    return Memory(max(a.processes, b.processes), max(a.rss_mib, b.rss_mib),
                  max(pss) if pss else None)


# --- the log and the projections, read from the database -----------------------------------


def head(url: str) -> int:
    with psycopg.connect(url, connect_timeout=10) as conn:
        row = conn.execute("SELECT coalesce(max(notification_id), 0) FROM ledger_events"
                           ).fetchone()
    return int(row[0]) if row else 0


def wait_projected(service: Service, position: int, within: float,
                   report: object = None) -> float:
    """Seconds until every projection's position reached `position`; a stopped projection
    or `within` elapsed is an error naming the projections behind."""
    started = time.perf_counter()
    deadline = started + within
    with psycopg.connect(service.embedded_url(), autocommit=True, connect_timeout=10) as conn:
        while True:
            rows = conn.execute("SELECT name, position, error FROM projection_positions"
                                " ORDER BY name").fetchall()
            behind = [(name, at, error) for name, at, error in rows if at < position]
            if not behind:
                return time.perf_counter() - started
            stopped = [f"{name} at {at} ({error})" for name, at, error in behind if error]
            if stopped:
                raise service.failed(f"projection stopped: {'; '.join(stopped)}")
            if callable(report):
                report(min(at for _, at, _ in behind), position)
            if time.perf_counter() > deadline:
                raise service.failed(
                    f"projections not at position {position} within {within:.0f} s: "
                    + ", ".join(f"{name} at {at}" for name, at, _ in behind))
            if service.process is not None and service.process.poll() is not None:
                raise service.failed("serve exited while its projections caught up")
            time.sleep(POLL_SECONDS * 5)


def rewind_projections(url: str) -> None:
    """Empty every read model and set each projection's position to 0 (catch-up from zero)."""
    from bench.read_path import reset_projections  # read_path imports this module

    reset_projections(url)
