"""A second process that fingerprints a batch's deals while the writer judges them.

A deal's fingerprint (`decisions.fingerprint`: SHA-256 of its canonical JSON) took about a
tenth of the writer's time for a batched deal, and the writer's interpreter is the one that
bounds a batch (every step of judging holds the interpreter lock). The fingerprint depends on
the body alone, so another process can make it: it receives the batch's raw bytes as soon as
they arrive, validates them with the same models while the API validates them too, and sends
the fingerprints back in slices, well ahead of the writer. Objects cannot travel cheaply
between processes (unpickling a validated deal costs as much as validating it), digests can.

The writer takes a deal's fingerprint from the helper when it has arrived and makes it itself
when it has not, without waiting, so the helper can only save time: a slow, busy, failed or
dead one costs a poll per deal at most, and the answer is the same either way. One body at a
time; a batch that finds the helper busy makes its own fingerprints.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

from pydantic import ValidationError

from ledger import commands as c
from ledger import decisions as d
from ledger.metrics import Metrics

log = logging.getLogger("ledger.fingerprints")

FIRST_SLICE = 20  # fingerprints in the first message: the writer needs the first ones soon
SLICE = 200  # fingerprints in each later message
DIGEST = 64  # hex characters of one fingerprint
START_SECONDS = 60.0  # the longest a new helper may take to import and say it is ready
DRAIN_SECONDS = 10.0  # the longest to wait for the rest of a body the writer did not need
RESTART_SECONDS = 10.0  # the least time between two starts of a failed helper

_READY = b"R"
_INVALID = b"X"  # the helper's validation refused the body (so will the API's)


def serve(conn: Connection) -> None:
    """The helper's loop: a body in, its fingerprints out in slices (or _INVALID)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this ends
    conn.send_bytes(_READY)
    while True:
        try:
            body = conn.recv_bytes()
        except (EOFError, OSError):  # the parent is gone
            return
        try:
            deals = c.DealBatch.model_validate_json(body).deals
        except ValidationError:
            conn.send_bytes(_INVALID)
            continue
        start, size = 0, FIRST_SLICE
        while start < len(deals):
            part = deals[start:start + size]
            conn.send_bytes("".join([d.fingerprint(deal) for deal in part]).encode())
            start, size = start + len(part), SLICE


class BatchFingerprints:
    """The fingerprints of one batch's deals, by index, as the helper sends them."""

    def __init__(self, helper: FingerprintHelper, conn: Connection) -> None:
        self._helper = helper
        self._conn = conn
        self._prints: list[str] = []
        self._count: int | None = None  # deals in the body, once the API has validated it
        self._lock = threading.Lock()  # the writer reads; a caller that gave up may close
        self._open = True
        self._broken = False
        self.from_helper = 0  # fingerprints the writer took from the helper
        self.made_here = 0  # and the ones it made itself

    def expect(self, count: int) -> None:
        self._count = count

    def decision(self, index: int, command: Any) -> partial[d.Outcome]:
        """The writer's decision for the deal at `index`, with its fingerprint from here."""
        return partial(_decide_deal, command=command, index=index, prints=self)

    def of(self, index: int, command: Any) -> str:
        """The fingerprint of the deal at `index`: the helper's if it has arrived, else made
        now (never waited for)."""
        with self._lock:
            if index >= len(self._prints) and self._open:
                self._take(wait=0)
            if index < len(self._prints):
                self.from_helper += 1
                return self._prints[index]
            self.made_here += 1
        return d.fingerprint(command)

    def close(self) -> None:
        """Hand the helper back once it has sent everything for this body (waited for:
        it may still be sending what the writer did not need)."""
        with self._lock:
            if not self._open:
                return
            deadline = time.monotonic() + DRAIN_SECONDS
            while self._open and not self._complete():
                if not self._take(wait=max(0.0, deadline - time.monotonic())):
                    self._broken = True
                    break
            self._open = False
        self._helper.release(self, broken=self._broken)

    @property
    def complete(self) -> bool:
        return not self._open or self._complete()

    def _complete(self) -> bool:
        return self._count is not None and len(self._prints) >= self._count

    def _take(self, wait: float) -> bool:
        """Receive what the helper has sent (waiting up to `wait` for the first message);
        False if nothing came or the helper failed."""
        try:
            if not self._conn.poll(wait):
                return False
            while True:
                message = self._conn.recv_bytes()
                if message == _INVALID:
                    self._open = False  # nothing more will come for this body
                    return True
                self._prints.extend(message[i:i + DIGEST].decode()
                                    for i in range(0, len(message), DIGEST))
                if self._complete() or not self._conn.poll(0):
                    return True
        except (EOFError, OSError) as error:
            log.warning("the fingerprint helper failed: %s", error)
            self._open, self._broken = False, True
            return False


def _decide_deal(register: Any, stamp: d.Stamp, command: Any, index: int,
                 prints: BatchFingerprints) -> d.Outcome:
    return d.decide_deal(register, stamp, command, prints.of(index, command))


class FingerprintHelper:
    """One helper process, started in the background and restarted when it fails."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._conn: Connection | None = None
        self._process: Any = None
        self._busy = threading.Lock()
        self._last_start = 0.0
        self._stopped = False
        metrics.counter("ledger_batch_fingerprints_total",
                        "Batched deals' fingerprints by who made them (helper or writer)")

    def start(self) -> None:
        """Start the helper process in the background; until it is ready, batches make
        their own fingerprints."""
        self._last_start = time.monotonic()
        threading.Thread(target=self._spawn, name="fingerprint-helper-start",
                         daemon=True).start()

    def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")  # not fork: this process has threads
        ours, theirs = context.Pipe()
        process = context.Process(target=serve, args=(theirs,), name="ledger-fingerprints",
                                  daemon=True)
        process.start()
        theirs.close()
        try:
            ready = ours.poll(START_SECONDS) and ours.recv_bytes() == _READY
        except (EOFError, OSError):
            ready = False
        if not ready or self._stopped:
            log.warning("the fingerprint helper did not start; batches fingerprint in the writer")
            process.kill()
            return
        self._conn, self._process = ours, process
        log.info("fingerprint helper ready (pid %d)", process.pid)

    @property
    def ready(self) -> bool:
        return self._conn is not None

    def fingerprints(self, body: bytes) -> BatchFingerprints | None:
        """Start fingerprinting a batch's raw body; None when no helper is free."""
        conn = self._conn
        if conn is None:
            if not self._stopped and time.monotonic() - self._last_start > RESTART_SECONDS:
                self.start()
            return None
        if not self._busy.acquire(blocking=False):
            return None
        try:
            conn.send_bytes(body)
        except (OSError, ValueError) as error:
            log.warning("the fingerprint helper failed: %s", error)
            self._discard()
            self._busy.release()
            return None
        return BatchFingerprints(self, conn)

    def release(self, prints: BatchFingerprints, *, broken: bool) -> None:
        self._metrics.inc("ledger_batch_fingerprints_total", prints.from_helper,
                          source="helper")
        self._metrics.inc("ledger_batch_fingerprints_total", prints.made_here, source="writer")
        if broken:
            self._discard()
        self._busy.release()

    def _discard(self) -> None:
        process, self._conn, self._process = self._process, None, None
        if process is not None:
            process.kill()

    def stop(self) -> None:
        self._stopped = True
        self._discard()
