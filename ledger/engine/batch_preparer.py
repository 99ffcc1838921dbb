"""Batch bodies validated and prepared in a child process, beside the writer.

The API is one Python process: parsing, judging and answering share one interpreter lock.
For a batch, validating the body (pydantic) and preparing each deal (its fingerprint, its
stream, its event's fields: `ledger/posting/preparation.py`) took about a third of that lock.
A child process does both on the other core and sends the deals back in slices as they are
validated and prepared. The writer judges each slice as it comes, ahead of the event table's
lock (ledger/engine/writer.py), so it never waits for a client's body while it holds the
lock; a deal found invalid later takes the whole batch back (422 with every error, as if
nothing had been judged).

The child's side, and how it validates, is `ledger/engine/batch_preparation.py`. If the child dies,
what waits on it fails (503) and the next batch starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ledger.engine.batch_preparation import (
    DEALS,
    FAILED,
    INVALID,
    REQUEST,
    SLICE,
    STARTED,
    read_answer,
)
from ledger.engine.writer import Decide, Overloaded, PostingWithdrawn
from ledger.metrics import Metrics
from ledger.posting import decisions as d
from ledger.posting.preparation import PreparedDeal

log = logging.getLogger("ledger.batch_preparer")

MAX_WAITING = 16  # batch bodies waiting for the child; beyond it callers get 503
VERDICT_SECONDS = 10.0  # the longest a caller waits for the child's first answer, or its last
SLICE_SECONDS = 10.0  # the longest the writer waits for a batch's next slice (never under the lock)



class BatchWithdrawn(PostingWithdrawn):
    """A batch that cannot be completed: the writer takes back whatever it judged of it."""


class InvalidBatch(BatchWithdrawn):
    """The body did not validate; `errors` as pydantic reports them, located under "body"."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation errors")
        self.errors = errors


class PreparerUnavailable(BatchWithdrawn):
    """The child process stopped or did not answer in time; nothing of the batch was stored."""


class PreparedBatch:
    """A batch whose deals are being validated and prepared in the child: the writer's
    decisions, in order. Iterating waits for the next slice (at most SLICE_SECONDS) and
    raises `InvalidBatch` or `PreparerUnavailable` if the batch cannot be completed."""

    def __init__(self, atomic: bool, count: int, loop: asyncio.AbstractEventLoop) -> None:
        self.atomic = atomic
        self._count = count
        self._deals: list[PreparedDeal] = []
        self._slices: queue.SimpleQueue[bytes | BatchWithdrawn] = queue.SimpleQueue()
        self._loop = loop
        self._verdict: asyncio.Future[None] = _quiet_future(loop)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Decide]:
        deals = self._deals
        for index in range(self._count):
            while index >= len(deals):
                self._receive()
            yield partial(d.judge_deal, deal=deals[index])

    def slices(self) -> Iterator[list[Decide]]:
        """The decisions a slice at a time, as the child sends them back (waiting for each,
        at most SLICE_SECONDS): the writer loads and judges one while the child validates
        the next, before it takes the table lock."""
        deals = self._deals
        done = 0
        while done < self._count:
            while len(deals) <= done:
                self._receive()
            part, done = deals[done:], len(deals)
            yield [partial(d.judge_deal, deal=deal) for deal in part]

    @property
    def deal_ids(self) -> list[str]:
        """The deals' ids, in order: once `errors` has found none, every slice is here,
        though the writer may have stopped reading them (an atomic batch refused)."""
        while len(self._deals) < self._count:
            self._receive()
        return [deal.deal_id for deal in self._deals]

    async def errors(self) -> list[dict[str, Any]] | None:
        """None once every deal has arrived valid; the validation errors if one did not.
        Raises `PreparerUnavailable` if the child stopped or is too slow."""
        try:
            await asyncio.wait_for(asyncio.shield(self._verdict), VERDICT_SECONDS)
        except InvalidBatch as invalid:
            return invalid.errors
        except TimeoutError:
            raise PreparerUnavailable(
                f"the batch preparer did not finish within {VERDICT_SECONDS:g} s") from None
        return None

    def _receive(self) -> None:
        try:
            received = self._slices.get(timeout=SLICE_SECONDS)
        except queue.Empty:
            raise PreparerUnavailable(
                f"the batch preparer sent no deals for {SLICE_SECONDS:g} s") from None
        if isinstance(received, BatchWithdrawn):
            raise received
        self._deals.extend(pickle.loads(received))

    def _settle(self, outcome: BatchWithdrawn | None) -> None:
        """From the receiving thread: the last slice has come (None), or the batch failed."""
        if outcome is not None:
            self._slices.put(outcome)
        _resolve(self._loop, self._verdict, outcome)


@dataclass
class _Waiting:
    """A body sent to the child, until its last slice (or its failure) has come back."""

    loop: asyncio.AbstractEventLoop
    started: asyncio.Future[PreparedBatch]
    batch: PreparedBatch | None = None
    slices_left: int = 0

    def fail(self, error: BatchWithdrawn) -> None:
        if self.batch is None:
            _resolve(self.loop, self.started, error)
        else:
            self.batch._settle(error)


@dataclass
class _Child:
    process: subprocess.Popen[bytes]
    outbox: queue.Queue[tuple[int, bytes] | None] = field(
        default_factory=lambda: queue.Queue(MAX_WAITING))
    waiting: dict[int, _Waiting] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class BatchPreparer:
    """The API's side of the child process: started by `serve` (or by the first batch, as
    in tests), and again after it stops; stopped with the app."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._child: _Child | None = None
        self._numbers = iter(range(1, 1 << 31))
        self._start_lock = threading.Lock()
        metrics.counter("ledger_batch_preparer_starts_total", "Batch preparer processes started")
        metrics.gauge("ledger_batch_preparer_waiting", "Batches the preparer is working on",
                      lambda: float(len(self._child.waiting) if self._child else 0))

    def start(self) -> None:
        """Start the child now rather than on the first batch (it takes a second to load)."""
        self._running()

    async def prepare(self, body: bytes) -> PreparedBatch:
        """The batch, once its shape is known to be right: its deals follow as they are
        validated. Raises `InvalidBatch` for a body whose shape is wrong (not JSON, no
        deals, too many)."""
        child = self._running()
        number = next(self._numbers)
        loop = asyncio.get_running_loop()
        waiting = _Waiting(loop, _quiet_future(loop))
        with child.lock:
            child.waiting[number] = waiting
        try:
            child.outbox.put_nowait((number, body))
        except queue.Full:
            with child.lock:
                child.waiting.pop(number, None)
            raise Overloaded(f"{MAX_WAITING} batches are waiting to be validated; "
                             "retry shortly") from None
        try:
            return await asyncio.wait_for(asyncio.shield(waiting.started), VERDICT_SECONDS)
        except BaseException as error:  # invalid, failed, late or cancelled: no slices wanted
            with child.lock:
                child.waiting.pop(number, None)
            if isinstance(error, TimeoutError):
                raise PreparerUnavailable(
                    f"the batch preparer did not answer within {VERDICT_SECONDS:g} s") from None
            raise

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        try:
            child.outbox.put_nowait(None)  # the child ends when its stdin closes
        except queue.Full:
            child.process.kill()
        try:
            child.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()

    # --- the child's lifecycle ------------------------------------------------------------

    def _running(self) -> _Child:
        with self._start_lock:
            child = self._child
            if child is None or child.process.poll() is not None:
                child = self._child = self._spawn()
            return child

    def _spawn(self) -> _Child:
        root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger.engine.batch_preparation"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": path})
        child = _Child(process)
        threading.Thread(target=self._send, args=(child,), name="batch-preparer-send",
                         daemon=True).start()
        threading.Thread(target=self._receive, args=(child,), name="batch-preparer-receive",
                         daemon=True).start()
        self._metrics.inc("ledger_batch_preparer_starts_total")
        log.info("batch preparer started (pid %d)", process.pid)
        return child

    def _send(self, child: _Child) -> None:
        stdin = child.process.stdin
        assert stdin is not None
        try:
            while (item := child.outbox.get()) is not None:
                number, body = item
                stdin.write(REQUEST.pack(len(body), number))
                stdin.write(body)
                stdin.flush()
        except OSError as error:  # the child is gone; the receiver fails what waits
            log.warning("batch preparer stopped reading: %s", error)
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def _receive(self, child: _Child) -> None:
        stdout = child.process.stdout
        assert stdout is not None
        try:
            while (answer := read_answer(stdout)) is not None:
                self._route(child, *answer)
        except Exception as error:  # a broken frame: the child cannot be trusted
            log.exception("batch preparer sent a broken answer")
            child.process.kill()
            problem = PreparerUnavailable(f"the batch preparer failed: {error}")
        else:
            problem = PreparerUnavailable("the batch preparer stopped")
        with child.lock:
            waiting, child.waiting = list(child.waiting.values()), {}
        for each in waiting:
            each.fail(problem)

    def _route(self, child: _Child, number: int, kind: int, payload: bytes) -> None:
        with child.lock:
            waiting = child.waiting.get(number)
            if waiting is None:  # its caller gave up waiting
                return
            last = kind in (INVALID, FAILED) or (kind == DEALS and waiting.slices_left == 1)
            if last:  # nothing more will come for it
                del child.waiting[number]
        if kind == STARTED:
            atomic, count = pickle.loads(payload)
            waiting.batch = PreparedBatch(atomic, count, waiting.loop)
            waiting.slices_left = -(-count // SLICE)
            _resolve(waiting.loop, waiting.started, waiting.batch)
        elif kind == DEALS:
            assert waiting.batch is not None
            waiting.slices_left -= 1
            waiting.batch._slices.put(payload)
            if last:
                waiting.batch._settle(None)
        elif kind == INVALID:
            waiting.fail(InvalidBatch(pickle.loads(payload)))
        elif kind == FAILED:
            waiting.fail(PreparerUnavailable(
                f"the batch preparer failed: {pickle.loads(payload)}"))


def _quiet_future(loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
    """A future whose exception no one need read (a caller may have given up on it)."""
    future: asyncio.Future[Any] = loop.create_future()
    future.add_done_callback(lambda f: f.cancelled() or f.exception())
    return future


def _resolve(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any],
             outcome: Any) -> None:
    """Settle `future` from another thread: with `outcome`, raised if it is an exception."""
    def settle() -> None:
        if future.done():
            return
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    with contextlib.suppress(RuntimeError):  # a closed loop: no one is waiting any more
        loop.call_soon_threadsafe(settle)
