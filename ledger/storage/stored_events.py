"""How an event becomes the JSON bytes of its stored row, and how those bytes read back.

The format is eventsourcing's own: the event's fields as a JSON object, with every value JSON
lacks wrapped as `{"_type_": NAME, "_data_": ...}` by a named transcoding. The library's
`JSONTranscoder` decodes what is written here, and the hash chain signs these exact bytes, so
the format may gain transcodings but never change one.

The writer encodes every accepted event under the event table's lock, so encoding has its own
path (`encode`): orjson with one lookup per wrapped value, instead of the library's mapper and
its generic dispatch (about twice as fast; tests hold both to the same bytes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
)

from ledger.law.events import LedgerEvent
from ledger.law.values import Money


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class MoneyAsDict(Transcoding):
    type = Money
    name = "money"

    def encode(self, obj: Money) -> dict[str, str]:
        return {"amount": str(obj.amount), "currency": obj.currency}

    def decode(self, data: dict[str, str]) -> Money:
        return Money(Decimal(data["amount"]), data["currency"])


# Dates, datetimes and dataclasses (Money) must reach the transcodings, not orjson's own
# formats.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class OrjsonTranscoder(JSONTranscoder):
    """The library's transcoder, writing with orjson (about five times faster than `json`)."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj, default=self._encode_obj, option=_OPTIONS)


def transcoder() -> OrjsonTranscoder:
    """The transcoder the store reads with: the library's defaults (UUID, Decimal,
    datetime) and the ledger's (date, Money)."""
    made = OrjsonTranscoder()
    for transcoding in _TRANSCODINGS:
        made.register(transcoding)
    return made


def _wrap(transcoding: Transcoding) -> Callable[[Any], dict[str, Any]]:
    name, encode = transcoding.name, transcoding.encode
    return lambda obj: {"_type_": name, "_data_": encode(obj)}


_TRANSCODINGS: tuple[Transcoding, ...] = (
    UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO(), MoneyAsDict(),
)
_WRAPPERS: dict[type, Callable[[Any], dict[str, Any]]] = {
    t.type: _wrap(t) for t in _TRANSCODINGS
}


MAX_CACHED_DATES = 100_000  # about 270 years of days; the cache starts over beyond it
_DATES: dict[date, dict[str, Any]] = {}
_last_stamp: tuple[Any, dict[str, Any]] = (None, {})


def _wrapped(obj: Any) -> dict[str, Any]:
    """The wrapped form of a value JSON lacks. Dates recur across events, and a group's
    events share one timestamp, so both are made once: wrapped values are never mutated.
    (Not Decimals: equal Decimals can print differently, 1.0 and 1.)"""
    global _last_stamp
    kind = type(obj)
    if kind is date:
        wrapped = _DATES.get(obj)
        if wrapped is None:
            if len(_DATES) >= MAX_CACHED_DATES:
                _DATES.clear()
            wrapped = _DATES[obj] = _WRAPPERS[date](obj)
        return wrapped
    if kind is datetime:
        last, wrapped = _last_stamp
        if obj is not last:
            wrapped = _WRAPPERS[datetime](obj)
            _last_stamp = (obj, wrapped)
        return wrapped
    try:
        return _WRAPPERS[kind](obj)
    except KeyError:
        raise TypeError(f"no transcoding for {kind.__name__}") from None


def encode(event: LedgerEvent) -> StoredEvent:
    """The stored row of `event`: what the library's mapper makes, byte for byte."""
    state = dict(vars(event))
    originator_id = state.pop("originator_id")
    originator_version = state.pop("originator_version")
    class_version: int = getattr(type(event), "class_version", 1)
    if class_version > 1:
        state["class_version"] = class_version
    # Made as `LedgerEvent.assemble` makes events: the frozen dataclass's `__init__` (a
    # guarded write per field) costs about a microsecond a deal on the writer's path.
    stored = object.__new__(StoredEvent)
    object.__setattr__(stored, "__dict__", {
        "originator_id": originator_id, "originator_version": originator_version,
        "topic": event.TOPIC, "state": orjson.dumps(state, default=_wrapped, option=_OPTIONS),
    })
    return stored


# Text no reader can pass on: PostgreSQL refuses NUL in text, and UTF-8 (psycopg, orjson)
# has no lone surrogates. JSON can only carry either as an escape, so a row without one of
# these escapes needs no look (older logs and a database owner's hand may hold them).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNREADABLE = re.compile("[\x00\ud800-\udfff]")  # in a decoded str, a surrogate is lone
REPLACEMENT = "\ufffd"


def readable_state(state: bytes) -> bytes | None:
    """The state with NUL and lone surrogates in its text replaced by U+FFFD, or None when it
    has none. Only what is read changes: the stored bytes, which the hash chain signs, stay."""
    if _SUSPECT_ESCAPE.search(state) is None:
        return None
    parsed = json.loads(state.decode("utf8"))  # the library decodes with `json` too
    cleaned = _clean(parsed)
    if cleaned == parsed:  # an escaped backslash before "u0000", or a valid surrogate pair
        return None
    return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode("utf8")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _UNREADABLE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
