"""`serve --workers N`: N API processes on one port, under the one `serve` that owns the rest.

The layout (issue 21). The `serve` process (the parent) owns what there must be one of: the
embedded cluster, the projector child (api/projector_process.py) and the checkpointer. It binds
the listening sockets, then starts N children (`serve --worker I --listen-fd FD`, hidden
flags), each an API process of its own (api/serving.py: a writer, a batch preparer, uvicorn),
and supervises them. It answers no request itself.

One socket per worker, bound with SO_REUSEPORT to the same address: the kernel spreads new
connections over the N sockets by their addresses' hash, so N workers share the load evenly
even when all connections open at once (one shared socket would give them to whichever worker
woke first). The parent keeps every socket open, so a worker that dies and is restarted finds
its socket, and the connections waiting on it, where it left them; those wait until the new
worker listens (about two seconds). Where SO_REUSEPORT does not exist, the workers share one
socket. Before binding the group, the port is probed without SO_REUSEPORT: a port another
`serve --workers` already holds is refused, never joined.

Writes from every worker go into one log: each writer judges and appends under the event
table's lock, and idempotency keys live in `ledger_postings` (issue 16), so the same key posted
to two workers at once stores one event and both hear the same answer. Rate limits are shared
through PostgreSQL (api/rate_buckets.py) and the key ring is refreshed from `api_keys` by every
worker (api/key_store.py, KEY_REFRESH_SECONDS).

Supervision, like the projector's: a worker that stops on its own is logged (ERROR) and started
again after RESTART_MIN_SECONDS, doubling up to RESTART_MAX_SECONDS while it keeps failing.
Each child is in a session of its own (the terminal's Ctrl-C reaches only the parent) and
holds the read end of a pipe only the parent writes: when the parent ends, however it ends,
the child reads end-of-file and stops, finishing its open requests for up to
GRACEFUL_SHUTDOWN_SECONDS. SIGTERM to the parent stops every worker that way, then the
projector, the checkpointer and the cluster.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from api.projector_process import end_child, keep_running, watch_parent
from ledger.metrics import Metrics
from ledger.settings import Settings

log = logging.getLogger("ledger.workers")

MAX_WORKERS = 8  # each worker holds up to about 20 connections; the embedded cluster has 200
READY_WITHIN_SECONDS = 120.0  # every worker listening, or `serve` gives up
BACKLOG = 2_048  # connections waiting on each socket
READY_LINE = "worker ready"  # what a worker prints on its stdout once it listens


def worker_count(raw: str) -> int:
    """--workers: a clear argparse error outside 1..MAX_WORKERS."""
    import argparse

    if not raw.isdigit() or not 1 <= int(raw) <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"--workers is a whole number from 1 to {MAX_WORKERS}, not {raw!r} (each worker "
            "holds up to about 20 database connections)")
    return int(raw)


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets listening on host:port with SO_REUSEPORT (one shared socket where the
    platform lacks it). Raises OSError naming the address when the port is taken."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]

    def bound(reuse_port: bool) -> socket.socket:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
        except OSError as error:
            sock.close()
            raise OSError(error.errno, f"cannot listen on {host}:{port}: {error.strerror}"
                          ) from None
        return sock

    shared = not hasattr(socket, "SO_REUSEPORT")
    bound(reuse_port=False).close()  # a port held by anyone, even with SO_REUSEPORT: refused
    sockets = [bound(reuse_port=not shared) for _ in range(1 if shared else count)]
    for sock in sockets:
        sock.listen(BACKLOG)
        sock.set_inheritable(True)
    return sockets * count if shared else sockets


class WorkerPool:
    """N `serve --worker` children on the given sockets (the i-th worker on the i-th), each
    restarted when it stops, all stopped together."""

    def __init__(self, sockets: list[socket.socket], database_url: str) -> None:
        self._sockets = sockets
        self._url = database_url
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._children: dict[int, subprocess.Popen[str]] = {}
        self._ready = [threading.Event() for _ in sockets]
        self._threads = [threading.Thread(target=self._supervise, args=(index,),
                                          name=f"worker-{index}", daemon=True)
                         for index in range(1, len(sockets) + 1)]
        self.metrics = Metrics()  # the parent's own counters (it serves no /metrics)
        self.metrics.counter("ledger_worker_starts_total", "API worker processes started")

    def start(self) -> WorkerPool:
        for thread in self._threads:
            thread.start()
        return self

    def serve(self, announce: Callable[[int], None]) -> int:
        """Start the workers, `announce(N)` once all listen, then supervise them until
        SIGTERM (the caller's handler raises SystemExit) or Ctrl-C; stop them all. 1 if they
        did not all listen within READY_WITHIN_SECONDS."""
        # Ctrl-C as uvicorn hears it in one process, even where SIGINT was ignored at start
        # (a background job of a script): a KeyboardInterrupt here.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.start()
        try:
            if not self.wait_ready():
                log.error("the API workers did not all listen within %.0f s",
                          READY_WITHIN_SECONDS)
                return 1
            announce(len(self._sockets))
            forever = threading.Event()
            while not forever.wait(1.0):  # a signal's handler runs between the waits
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
        return 0

    def wait_ready(self, within: float = READY_WITHIN_SECONDS) -> bool:
        """True once every worker listens (each has started at least once)."""
        deadline = time.monotonic() + within
        return all(ready.wait(max(deadline - time.monotonic(), 0)) for ready in self._ready)

    def pids(self) -> dict[int, int]:
        with self._lock:
            return {index: child.pid for index, child in self._children.items()
                    if child.poll() is None}

    def stop(self) -> None:
        """Every worker at once: close their pipes (each finishes its open requests and its
        writer's group), then wait, then SIGTERM and SIGKILL those that do not end."""
        self._stopping.set()
        with self._lock:
            children = list(self._children.values())
        for child in children:
            if child.stdin is not None:
                with contextlib.suppress(OSError):
                    child.stdin.close()
        for child in children:
            end_child(child)
        for thread in self._threads:
            thread.join(timeout=5)
        for sock in self._sockets:
            sock.close()

    def _supervise(self, index: int) -> None:
        def spawn() -> subprocess.Popen[str]:
            child = self._children[index] = self._spawn(index)
            return child

        def watch(child: subprocess.Popen[str]) -> int:
            self._follow(index, child)
            return child.wait()

        keep_running(f"API worker {index}", lambda pid: f"API worker {index} (pid {pid})",
                     self._stopping, self._lock, spawn, watch)

    def _follow(self, index: int, child: subprocess.Popen[str]) -> None:
        """Read the worker's stdout until it ends: its ready line, and anything else it
        prints, passed on."""
        assert child.stdout is not None
        for line in child.stdout:
            if line.strip() == READY_LINE:
                log.info("API worker %d (pid %d) listening", index, child.pid)
                self._ready[index - 1].set()
            else:
                sys.stdout.write(line)
                sys.stdout.flush()

    def _spawn(self, index: int) -> subprocess.Popen[str]:
        root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": path, "LEDGER_DATABASE_URL": self._url}
        fd = self._sockets[index - 1].fileno()
        child = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--worker", str(index),
             "--listen-fd", str(fd)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
            pass_fds=(fd,), start_new_session=True)
        self.metrics.inc("ledger_worker_starts_total")
        log.info("API worker %d started (pid %d)", index, child.pid)
        return child


def run_worker(settings: Settings, index: int, fd: int | None) -> int:
    """In a child: serve on the inherited socket until the parent's pipe closes (or SIGTERM).
    LEDGER_DATABASE_URL is the parent's database (its embedded cluster, borrowed)."""
    from api.serving import api_keyring, serve_api

    if settings.database_url is None or fd is None:
        raise ValueError("--worker runs under `serve --workers N`, which sets the database "
                         "and the socket")
    stop = threading.Event()
    watch_parent(stop)
    keyring = api_keyring(settings, announce=lambda _: None)  # the parent announced them
    sock = socket.socket(fileno=fd)

    def ready(position: int) -> None:
        print(READY_LINE, flush=True)

    serve_api(settings, settings.database_url, keyring, Metrics(), on_ready=ready,
              sockets=[sock], worker=index, stop=stop)
    return 0
