"""The insert behind every append: rows go to PostgreSQL as joined text and one bytea, and come
back exactly as they were sent, in order (ledger/group_append.py, `insert_parameters`)."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from ledger.group_append import insert_parameters
from ledger.store import open_store

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
                    ["PartyRegistered", "ledger.events:PatentRegistered", "Topic_2", "T", "X"],
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
