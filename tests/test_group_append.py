"""The insert behind every append: rows go to PostgreSQL as joined text and one bytea, and come
back exactly as they were sent, in order (ledger/storage/group_append.py, `insert_parameters`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from ledger.law import events as ev
from ledger.service import LedgerService
from ledger.storage.group_append import CHUNK, TAIL_CHUNK, ChunkedAppend, chunk_size, insert_parameters
from ledger.storage.store import open_store

STATES = [
    b'{"a":1}',
    b"",  # no state at all: a zero-length cut
    '{"name":"杭州 \\"quoted\\" {braces}, commas"}'.encode(),
    bytes(range(256)),  # every byte value, NUL included
    b"x" * 70_000,  # longer than a page of the bytea
]


def test_rows_are_stored_byte_for_byte_in_order(database_url: str) -> None:
    store = open_store(database_url)
    try:
        sent = [StoredEvent(originator_id=uuid.uuid4(), originator_version=version,
                            topic=topic, state=state)
                for version, (topic, state) in enumerate(zip(
                    ["PartyRegistered", "ledger.law.events:PatentRegistered", "Topic_2", "T", "X"],
                    STATES, strict=True), start=1)]
        positions = store.recorder.insert_events(sent)
        assert positions == sorted(positions) and len(positions) == len(sent)
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "SELECT originator_id, originator_version, topic, state FROM ledger_events"
                " WHERE notification_id = ANY(%s) ORDER BY notification_id",
                (positions,)).fetchall()
        assert [(r[0], r[1], r[2], bytes(r[3])) for r in rows] == [
            (e.originator_id, e.originator_version, e.topic, e.state) for e in sent]
    finally:
        store.close()


def test_an_id_given_as_text_is_stored_as_that_uuid(database_url: str) -> None:
    store = open_store(database_url)
    try:
        given = uuid.uuid4()
        [position] = store.recorder.insert_events([StoredEvent(
            originator_id=str(given), originator_version=1, topic="T", state=b"{}")])
        with pytest.raises(ValueError):
            insert_parameters([StoredEvent(originator_id="1},{2", originator_version=1,
                                           topic="T", state=b"{}")])
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT originator_id FROM ledger_events"
                               " WHERE notification_id = %s", (position,)).fetchone()
        assert row is not None and row[0] == given
    finally:
        store.close()


@pytest.mark.parametrize("topic", ["Two words", "a,b", 'quo"te', "{brace}", "back\\slash", ""])
def test_a_topic_that_could_break_the_literal_is_refused(topic: str) -> None:
    event = StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic=topic,
                        state=b"{}")
    with pytest.raises(ValueError, match="not a plain name"):
        insert_parameters([event])


def test_chunks_shrink_towards_the_end_of_a_group() -> None:
    """The writer waits idle for the last chunk's insert, so the last chunks are small."""
    sizes, left = [], 1_000
    while left > 0:
        size = min(chunk_size(left), left)
        sizes.append(size)
        left -= size
    assert sizes == [500, 250, 125, 64, 61]
    assert chunk_size(10) == TAIL_CHUNK  # a small group goes in one insert, at its end
    assert chunk_size(-5) == TAIL_CHUNK  # more events than expected: still bounded chunks
    assert chunk_size(100_000) == CHUNK


def test_a_group_sent_in_shrinking_chunks_stores_every_event_in_order(
        service: LedgerService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Told how many events to expect, a group inserts them in shrinking chunks, and they
    come out stored in order, as one insert would store them."""
    store = service.store
    head = store.head()
    today = datetime.now(UTC).date()
    events = [ev.PartyListed(
        originator_id=ev.stream_id("listing", f"shrink-{i}"), originator_version=1,
        timestamp=datetime.now(UTC), effective_on=today, posted_by="test",
        listing_id=f"shrink-{i}", party="91330000000000063K", credit_list="dishonest",
        grounds="test", starts_on=today, ends_on=None, fingerprint="f",
    ) for i in range(300)]
    sent: list[int] = []
    original_send = ChunkedAppend._send

    def counting_send(append: ChunkedAppend) -> None:
        sent.append(len(append._buffer))
        original_send(append)

    def judge(missed: list[tuple[int, ev.LedgerEvent]], append: ChunkedAppend) -> None:
        for event in events:
            append.add([event])

    monkeypatch.setattr(ChunkedAppend, "_send", counting_send)
    stored = store.append_judged(head, judge, expected=len(events))
    assert [s for s in sent if s] == [150, 75, 64, 11]
    assert [event for _, event in stored] == events
    positions = [position for position, _ in stored]
    assert positions == sorted(positions)
    assert [(p, e.listing_id) for p, e in store.read_all(after=head)] == [
        (p, e.listing_id) for p, e in stored]
