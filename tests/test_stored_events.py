"""The writer's own encoder writes every event exactly as eventsourcing's mapper would.

The stored bytes are signed by the hash chain and read back by the library's decoder, so the
fast path (ledger/storage/stored_events.py) must match the library byte for byte: checked here for
every event class, with optional fields empty and filled, non-ASCII text, and values that are
equal yet print differently (Decimal 0.5 and 0.50) or repeat (dates, one group's timestamp).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import JSONTranscoder, Mapper

from ledger.law import events as ev
from ledger.law.values import Money
from ledger.storage import stored_events


def _library_mapper() -> Mapper[UUID]:
    """eventsourcing's own mapper and stdlib-json transcoder, with the ledger's transcodings."""
    transcoder = JSONTranscoder()
    for transcoding in stored_events.transcoder().types.values():
        transcoder.register(transcoding)
    return Mapper(transcoder)


def _sample(kind: Any, variant: int) -> Any:
    """A value of type `kind`; variant 0 leaves optional values out, 1 and 2 fill them
    with values that are equal across variants but print differently."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return None if variant == 0 else _sample(options[0], variant)
    origin = typing.get_origin(kind)
    if origin is list:
        return [_sample(typing.get_args(kind)[0], variant), "乙方"]
    if origin is dict:
        return {"甲": _sample(Decimal, variant), "b": Decimal("0.25")}
    samples: dict[Any, Any] = {
        str: "专利 CN-½ \"quoted\"",
        bool: variant == 1,
        int: 7,
        date: date(2021, 3, 4) + timedelta(days=variant),
        datetime: (datetime(2026, 11, 26, 8, 0, tzinfo=UTC) if variant < 2  # the same
                   else datetime(2026, 11, 26, 16, 0, tzinfo=timezone(timedelta(hours=8)))),
        Decimal: Decimal("0.5") if variant < 2 else Decimal("0.50"),
        Money: Money(Decimal("1000") if variant < 2 else Decimal("1000.00"), "CNY"),
        UUID: uuid4(),
    }
    return samples[kind]


def _event(cls: type[ev.LedgerEvent], variant: int) -> ev.LedgerEvent:
    hints = typing.get_type_hints(cls)
    values = {f.name: _sample(hints[f.name], variant) for f in dataclasses.fields(cls)}
    values["originator_version"] = 1
    return cls(**values)


@pytest.mark.parametrize("cls", ev.ALL_EVENTS, ids=lambda cls: cls.TOPIC)
def test_every_event_is_stored_exactly_as_the_library_would(cls: type[ev.LedgerEvent]) -> None:
    mapper = _library_mapper()
    for variant in (0, 1, 2, 1):  # again after 2: nothing cached may leak between values
        event = _event(cls, variant)
        ours = stored_events.encode(event)
        assert ours.state == mapper.to_stored_event(event).state
        assert ours == mapper.to_stored_event(event)  # every field, as the dataclass sees it
        assert (ours.originator_id, ours.originator_version, ours.topic) == (
            event.originator_id, event.originator_version, cls.TOPIC)
        assert mapper.to_domain_event(ours) == event


def test_a_value_without_a_transcoding_is_refused() -> None:
    event = _event(ev.PartyRegistered, 1)
    object.__setattr__(event, "name", {1.5j})
    with pytest.raises(TypeError):
        stored_events.encode(event)
