"""`serve`'s projector: `patent-ledger project` run as a supervised child process.

The projections fold events in Python; run as threads in the API's process they took the
interpreter lock from the writer and the request handlers, and a user of the README's `serve`
got about half the batch throughput the benchmark measured without them (issue 16). The child
folds on the other core. The API process keeps only reads: GraphQL, /healthz and /metrics read
the projections' tables and `projection_positions`, whichever process writes them.

Like the batch preparer (ledger/engine/batch_preparer.py), the child is started with `serve`, counted
(`ledger_projector_starts_total`) and logged; unlike it, nothing waits on it, so when it stops
on its own the supervisor logs an ERROR and starts it again after RESTART_MIN_SECONDS,
doubling up to RESTART_MAX_SECONDS while it keeps failing. The child logs JSON lines to the
same stderr as the API.

The child runs at a lower CPU priority (NICENESS): on a busy machine the writer and the
request handlers, which every posting waits for, get the cores first, and the projections,
which a reader may wait for, follow within seconds of a burst (their lag is on /healthz and
/metrics). On two cores, a projector at equal priority took about half the CPU and halved the
batch throughput of `serve` (BENCHMARKS.md); when the machine is idle it projects at full speed.

The child holds the read end of a pipe whose write end only this process has: when this
process ends, however it ends (SIGKILL included), the child reads end-of-file and stops, so no
projector outlives its `serve`. A stand-by child (another `serve` on the same database already
projects) waits on the runner's advisory lock, as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ledger.metrics import Metrics

log = logging.getLogger("ledger.projector_process")

RESTART_MIN_SECONDS = 1.0  # the first pause before starting a child that stopped
RESTART_MAX_SECONDS = 30.0  # the longest pause; a child that ran this long starts over at 1 s
STOP_SECONDS = 15.0  # how long a stopping child may finish its batch before it is killed
MAX_RESIDENT_MIB = 640  # the child's resident memory beyond which it is recycled
WATCH_SECONDS = 5.0  # how often the supervisor reads the child's resident memory
NICENESS = 10  # the child's niceness above the API's: the log first, the read side after
PARENT_PIPE_FLAG = "--until-stdin-closes"  # `project` in child mode (api/cli.py)


class ProjectorProcess:
    """Starts `patent-ledger project` as a child, restarts it when it stops, stops it with
    `serve`. `database_url` is passed in the child's environment (LEDGER_DATABASE_URL), so a
    child of a `serve` on the embedded cluster borrows that cluster rather than starting one."""

    def __init__(self, database_url: str, metrics: Metrics, batch_size: int,
                 max_resident_mib: float = MAX_RESIDENT_MIB) -> None:
        self._url = database_url
        self._max_resident_mib = max_resident_mib
        self._batch_size = batch_size
        self._metrics = metrics
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        metrics.counter("ledger_projector_starts_total", "Projector processes started (more "
                        "than one: it stopped and was restarted; see the ERROR log)")
        metrics.counter("ledger_projector_recycled_total", "Projector processes stopped and "
                        "started again because they held more than MAX_RESIDENT_MIB")
        metrics.gauge("ledger_projector_running", "1 while serve's projector process runs",
                      lambda: float(self.running))

    @property
    def running(self) -> bool:
        child = self._child
        return child is not None and child.poll() is None

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None else None

    def start(self) -> ProjectorProcess:
        self._thread = threading.Thread(target=self._supervise, name="projector-supervisor",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the child's pipe (it finishes its batch and exits), then wait for it."""
        self._stopping.set()
        with self._lock:
            child = self._child
        if child is not None:
            end_child(child)
        if self._thread is not None:
            self._thread.join(timeout=STOP_SECONDS + 5)

    def _supervise(self) -> None:
        def spawn() -> subprocess.Popen[bytes]:
            child = self._child = self._spawn()
            return child

        keep_running("the projector process", lambda pid: f"projector process {pid}",
                     self._stopping, self._lock, spawn, self._watch)

    def _watch(self, child: subprocess.Popen[bytes]) -> int | None:
        """Wait for the child to stop (its exit code), or recycle it once it holds more than
        the bound (None): it finishes its batch and the next one resumes from the committed
        positions, with empty caches. Its Python objects are bounded, but its resident memory
        crept by about 0.8 KB an event over long loads (BENCHMARKS.md, scale); this bounds it
        whatever the cause."""
        while True:
            try:
                return child.wait(timeout=WATCH_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            resident = resident_mib(child.pid)
            if resident is not None and resident > self._max_resident_mib:
                log.warning("projector process %d holds %.0f MiB, more than %.0f: recycling it",
                            child.pid, resident, self._max_resident_mib)
                self._metrics.inc("ledger_projector_recycled_total")
                end_child(child)
                return None

    def _spawn(self) -> subprocess.Popen[bytes]:
        root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": path, "LEDGER_DATABASE_URL": self._url,
               "LEDGER_PROJECTION_BATCH": str(self._batch_size)}
        child = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "project", PARENT_PIPE_FLAG],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env)
        with contextlib.suppress(OSError):  # a platform without priorities: as it is
            own = os.getpriority(os.PRIO_PROCESS, 0)
            os.setpriority(os.PRIO_PROCESS, child.pid, min(own + NICENESS, 19))
        self._metrics.inc("ledger_projector_starts_total")
        log.info("projector process started (pid %d, niceness %d)", child.pid, NICENESS)
        return child


Child = TypeVar("Child", subprocess.Popen[bytes], subprocess.Popen[str])


def keep_running(what: str, named: Callable[[int], str], stopping: threading.Event,
                 lock: threading.Lock, spawn: Callable[[], Child],
                 watch: Callable[[Child], int | None]) -> None:
    """Start a child with `spawn` (under `lock`) and `watch` it until it stops (its exit code,
    or None when it was recycled on purpose: the next starts at once); start it again after
    RESTART_MIN_SECONDS, doubling up to RESTART_MAX_SECONDS while it keeps failing, until
    `stopping` is set. `what` names the child in the logs, `named(pid)` one that ran. The
    projector's supervisor, and each API worker's (api/workers.py)."""
    pause = RESTART_MIN_SECONDS
    while not stopping.is_set():
        try:
            with lock:
                if stopping.is_set():
                    return
                child = spawn()
        except OSError:  # no interpreter to run, no processes left: try again later
            log.exception("could not start %s; trying again in %.0f s", what, pause)
            stopping.wait(pause)
            pause = min(pause * 2, RESTART_MAX_SECONDS)
            continue
        started = time.monotonic()
        code = watch(child)
        if stopping.is_set():
            return
        if code is None:
            pause = RESTART_MIN_SECONDS
            continue
        if time.monotonic() - started > RESTART_MAX_SECONDS:
            pause = RESTART_MIN_SECONDS  # it ran a good while: a fresh fault
        log.error("%s stopped (exit code %s); restarting it in %.0f s",
                  named(child.pid), code, pause)
        stopping.wait(pause)
        pause = min(pause * 2, RESTART_MAX_SECONDS)


def resident_mib(pid: int) -> float | None:
    """A process's resident memory (Linux /proc), or None where it cannot be read."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def end_child(child: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """End-of-file on its pipe asks it to stop; SIGTERM, then SIGKILL, if it does not."""
    if child.stdin is not None:
        with contextlib.suppress(OSError):
            child.stdin.close()
    for signal_it in (None, child.terminate, child.kill):
        if signal_it is not None:
            with contextlib.suppress(OSError):
                signal_it()
        try:
            child.wait(timeout=STOP_SECONDS if signal_it is None else 5)
            return
        except subprocess.TimeoutExpired:
            continue


def watch_parent(stop: threading.Event) -> None:
    """In the child: set `stop` when stdin reaches end-of-file, which happens when the parent
    closes the pipe or dies. Runs on a daemon thread."""
    def read_until_closed() -> None:
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.buffer.read(4096):
                pass
        stop.set()

    threading.Thread(target=read_until_closed, name="parent-watch", daemon=True).start()
