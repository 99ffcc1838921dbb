"""Batch bodies validated and prepared in a child process, beside the writer.

The API is one Python process: parsing, judging and answering share one interpreter lock.
For a batch, validating the body (pydantic) and preparing each deal (its fingerprint, its
stream, its event's fields: `ledger/deal_preparation.py`) took about a third of that lock.
A child process does both on the other core and streams the prepared deals back in slices,
so the writer judges the first slice while the child prepares the next, and while the writer
judges one batch the child validates the next.

The child answers each body in order: first its verdict (the validation errors, exactly as
pydantic reports them, or the deal ids and `atomic`), then, when valid, the prepared deals
in slices of SLICE. Frames on its stdin and stdout: a fixed header, then a payload.
If the child dies, what waits on it fails (503) and the next batch starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

from ledger import decisions as d
from ledger.deal_preparation import PreparedDeal, prepare_deal
from ledger.metrics import Metrics
from ledger.writer import Decide, Overloaded

log = logging.getLogger("ledger.batch_preparer")

SLICE = 100  # prepared deals per message: the writer starts on the first while the rest come
MAX_WAITING = 16  # batch bodies waiting for the child; beyond it callers get 503
VERDICT_SECONDS = 10.0  # the longest a batch waits for the child's verdict before 503
SLICE_SECONDS = 10.0  # the longest the writer waits for the next slice of a valid batch

_REQUEST = struct.Struct(">II")  # payload length, batch number; then the body
_ANSWER = struct.Struct(">IIB")  # payload length, batch number, kind; then a pickle
VALID, INVALID, DEALS, FAILED = range(4)  # kinds of answer


class PreparerUnavailable(RuntimeError):
    """The child process stopped or did not answer in time; nothing of the batch was stored."""


class PreparedBatch:
    """A valid batch whose deals are still arriving: the writer's decisions, in order.

    Iterating blocks until the next slice has arrived (at most SLICE_SECONDS)."""

    def __init__(self, atomic: bool, deal_ids: list[str]) -> None:
        self.atomic = atomic
        self.deal_ids = deal_ids
        self._deals: list[PreparedDeal] = []
        self._slices: queue.SimpleQueue[bytes | BaseException] = queue.SimpleQueue()

    def __len__(self) -> int:
        return len(self.deal_ids)

    def __iter__(self) -> Iterator[Decide]:
        deals = self._deals
        for index in range(len(self.deal_ids)):
            while index >= len(deals):
                self._receive()
            yield partial(d.judge_deal, deal=deals[index])

    def _receive(self) -> None:
        try:
            received = self._slices.get(timeout=SLICE_SECONDS)
        except queue.Empty:
            raise PreparerUnavailable(
                f"the batch preparer sent no deals for {SLICE_SECONDS:g} s") from None
        if isinstance(received, BaseException):
            raise received
        self._deals.extend(pickle.loads(received))


@dataclass
class _Waiting:
    """A body sent to the child, until its last slice has come back."""

    loop: asyncio.AbstractEventLoop
    verdict: asyncio.Future[PreparedBatch]
    batch: PreparedBatch | None = None
    slices_left: int = 0


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
        metrics.gauge("ledger_batch_preparer_waiting", "Batches waiting for the preparer",
                      lambda: float(len(self._child.waiting) if self._child else 0))

    def start(self) -> None:
        """Start the child now rather than on the first batch (it takes a second to load)."""
        self._running()

    async def prepare(self, body: bytes) -> PreparedBatch:
        """The batch's verdict: a `PreparedBatch` whose deals follow, or (raised) the
        validation errors as a `RequestValidationError`-ready list in `InvalidBatch`."""
        child = self._running()
        number = next(self._numbers)
        loop = asyncio.get_running_loop()
        waiting = _Waiting(loop, loop.create_future())
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
            return await asyncio.wait_for(asyncio.shield(waiting.verdict), VERDICT_SECONDS)
        except BaseException as error:  # invalid, failed, late or cancelled: no slices wanted
            with child.lock:
                child.waiting.pop(number, None)
            if isinstance(error, TimeoutError):
                raise PreparerUnavailable(
                    f"the batch preparer gave no verdict within {VERDICT_SECONDS:g} s") from None
            raise

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        child.outbox.put(None)
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
        root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        process = subprocess.Popen(
            [sys.executable, "-m", "api.batch_preparer"], stdin=subprocess.PIPE,
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
                stdin.write(_REQUEST.pack(len(body), number))
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
            while (answer := _read_answer(stdout)) is not None:
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
            _fail(each, problem)

    def _route(self, child: _Child, number: int, kind: int, payload: bytes) -> None:
        with child.lock:
            waiting = child.waiting.get(number)
            if waiting is None:  # its caller gave up waiting for the verdict
                return
            if kind == DEALS:
                waiting.slices_left -= 1
                if waiting.slices_left == 0:  # the last: nothing more will come for it
                    del child.waiting[number]
        if kind == DEALS:
            assert waiting.batch is not None
            waiting.batch._slices.put(payload)
        elif kind == VALID:
            atomic, deal_ids = pickle.loads(payload)
            waiting.batch = PreparedBatch(atomic, deal_ids)
            waiting.slices_left = -(-len(deal_ids) // SLICE)
            _settle(waiting, waiting.batch)
        elif kind == INVALID:
            _settle(waiting, InvalidBatch(pickle.loads(payload)))
        elif kind == FAILED:
            _fail(waiting, PreparerUnavailable(
                f"the batch preparer failed: {pickle.loads(payload)}"))


class InvalidBatch(Exception):
    """The body did not validate; `errors` as pydantic reports them, located under "body"."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation errors")
        self.errors = errors


def _settle(waiting: _Waiting, outcome: PreparedBatch | InvalidBatch) -> None:
    def settle() -> None:
        if waiting.verdict.done():
            return
        if isinstance(outcome, InvalidBatch):
            waiting.verdict.set_exception(outcome)
        else:
            waiting.verdict.set_result(outcome)

    waiting.loop.call_soon_threadsafe(settle)


def _fail(waiting: _Waiting, error: PreparerUnavailable) -> None:
    if waiting.batch is not None:
        waiting.batch._slices.put(error)

    def fail() -> None:
        if not waiting.verdict.done():
            waiting.verdict.set_exception(error)

    with contextlib.suppress(RuntimeError):  # a closed loop: no one is waiting any more
        waiting.loop.call_soon_threadsafe(fail)


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    """`size` bytes, or None at a clean end of the stream (EOFError inside a frame)."""
    data = stream.read(size)
    if len(data) == size:
        return data
    if data:
        raise EOFError(f"a frame ended after {len(data)} of {size} bytes")
    return None


def _read_answer(stream: IO[bytes]) -> tuple[int, int, bytes] | None:
    header = _read_exactly(stream, _ANSWER.size)
    if header is None:
        return None
    length, number, kind = _ANSWER.unpack(header)
    payload = _read_exactly(stream, length) if length else b""
    if payload is None:
        raise EOFError("the stream ended inside a frame")
    return number, kind, payload


# --- The child ----------------------------------------------------------------------------


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """Validate and prepare each body in turn until stdin closes."""
    from pydantic import ValidationError

    from ledger.commands import DealBatch

    def answer(number: int, kind: int, value: Any) -> None:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(_ANSWER.pack(len(payload), number, kind))
        answers.write(payload)
        answers.flush()

    while (header := _read_exactly(requests, _REQUEST.size)) is not None:
        length, number = _REQUEST.unpack(header)
        body = _read_exactly(requests, length) if length else b""
        if body is None:  # the API closed the pipe inside a frame: it is stopping
            return
        try:
            batch = DealBatch.model_validate_json(body)
        except ValidationError as error:
            answer(number, INVALID, [{**e, "loc": ("body", *e["loc"])}
                                     for e in error.errors(include_url=False)])
            continue
        except Exception as error:  # reported to the caller (503), not swallowed
            answer(number, FAILED, f"{type(error).__name__}: {error}")
            continue
        deals = batch.deals
        answer(number, VALID, (batch.atomic, [deal.deal_id for deal in deals]))
        for start in range(0, len(deals), SLICE):
            answer(number, DEALS, [prepare_deal(deal) for deal in deals[start:start + SLICE]])


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
