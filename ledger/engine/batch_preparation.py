"""The batch preparer's child process: batch bodies validated and their deals prepared.

Started by the API as `python -m ledger.engine.batch_preparation`; the API's side is
`ledger/engine/batch_preparer.py`. Each body is answered in order: STARTED once its outer
shape is right, then a DEALS answer per slice of SLICE valid, prepared deals
(`ledger/posting/preparation.py`), or INVALID as soon as anything is wrong (FAILED for what is
not the body's fault).

Validation is pydantic's, on the body parsed with `json` (floats as Decimal, so amounts
keep every digit). Whenever that finds anything wrong, or anything else fails, the errors
reported are those of validating the raw body as a whole (`DealBatch.model_validate_json`),
exactly what the API reported before the child existed.

Frames on the child's stdin and stdout: a fixed header, then a payload.
"""

from __future__ import annotations

import functools
import json
import pickle
import struct
import sys
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, TypeAdapter, ValidationError

from ledger.posting.commands import MAX_BATCH, DealBatch, DealCommand
from ledger.posting.preparation import prepare_deal

SLICE = 100  # deals per message: the writer starts on the first while the rest come

REQUEST = struct.Struct(">II")  # payload length, batch number; then the body
ANSWER = struct.Struct(">IIB")  # payload length, batch number, kind; then a pickle
STARTED, DEALS, INVALID, FAILED = range(4)  # kinds of answer


def read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    """`size` bytes, or None at a clean end of the stream (EOFError inside a frame)."""
    data = stream.read(size)
    if len(data) == size:
        return data
    if data:
        raise EOFError(f"a frame ended after {len(data)} of {size} bytes")
    return None


def read_answer(stream: IO[bytes]) -> tuple[int, int, bytes] | None:
    header = read_exactly(stream, ANSWER.size)
    if header is None:
        return None
    length, number, kind = ANSWER.unpack(header)
    payload = read_exactly(stream, length) if length else b""
    if payload is None:
        raise EOFError("the stream ended inside a frame")
    return number, kind, payload


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """Validate and prepare each body in turn until stdin closes."""
    def answer(number: int, kind: int, value: Any) -> None:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(ANSWER.pack(len(payload), number, kind))
        answers.write(payload)
        answers.flush()

    while (header := read_exactly(requests, REQUEST.size)) is not None:
        length, number = REQUEST.unpack(header)
        body = read_exactly(requests, length) if length else b""
        if body is None:  # the API closed the pipe inside a frame: it is stopping
            return
        try:
            _validate_and_prepare(body, partial(answer, number))
        except Exception as error:  # reported to the caller (503), not swallowed
            answer(number, FAILED, f"{type(error).__name__}: {error}")


class _Shell(BaseModel):
    """A batch's outer shape, as `DealBatch` has it, with its deals left for later."""

    model_config = ConfigDict(extra="forbid")
    deals: list[Any] = Field(min_length=1, max_length=MAX_BATCH)
    atomic: StrictBool = False


@functools.cache
def _deals_validator() -> TypeAdapter[list[Any]]:
    """Built in the child only (the API process never validates with it)."""
    return TypeAdapter(list[DealCommand])


def _validate_and_prepare(body: bytes, answer: Callable[[int, Any], None]) -> None:
    """STARTED once the body's shape is right, then a DEALS answer per slice of valid,
    prepared deals; INVALID (with the whole body's errors) as soon as anything is wrong."""
    try:
        shell = _Shell.model_validate(json.loads(body.decode("utf-8"), parse_float=Decimal))
    except Exception:  # not JSON, or the wrong shape: as the whole body reports it
        answer(INVALID, _errors_of(body, None))
        return
    answer(STARTED, (shell.atomic, len(shell.deals)))
    items = shell.deals
    for start in range(0, len(items), SLICE):
        try:
            prepared = [prepare_deal(deal)
                        for deal in _deals_validator().validate_python(
                            items[start:start + SLICE])]
        except Exception as error:
            answer(INVALID, _errors_of(body, error))
            return
        answer(DEALS, prepared)


def _errors_of(body: bytes, found: Exception | None) -> list[dict[str, Any]]:
    """The errors of validating the raw body as a whole, located under "body"."""
    try:
        DealBatch.model_validate_json(body)
    except ValidationError as error:
        return [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
    # The raw body is valid, though its parsed form was not: refuse rather than guess.
    return [{"type": "value_error", "loc": ("body",), "input": None,
             "msg": f"the batch could not be validated: {found}"}]


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
