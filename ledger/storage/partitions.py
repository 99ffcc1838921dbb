"""The event table's range partitions: made ahead of the head by the writer, under its lock.

Migration 024 makes `ledger_events` a table partitioned by position (notification_id) range,
`ledger_event_partitioning.size` positions a partition (1,000,000 unless set otherwise), so that
old ranges can be moved to cheaper storage (docs/architecture.md). PostgreSQL refuses a row no
partition holds, so the partitions must always reach past the positions a transaction is about
to take. Who makes them, and why there:

- The writer, in its own transaction, under the event table's EXCLUSIVE lock: before it sends a
  chunk of events it knows the highest position the chunk can take (the sequence's value when
  the lock was taken, plus every event sent since: only the lock holder draws from it). When
  that passes `until` (half a partition short of the last partition's end), it calls
  `ledger_extend_event_partitions`, which adds range partitions until half a partition of room
  lies beyond. So the next partition exists half a partition before it is needed, and a group
  larger than the room left (a small partition size) makes what it needs before its insert:
  never an insert that fails for want of a partition. No DEFAULT partition: attaching a range
  beside one takes ACCESS EXCLUSIVE on it and waits behind every reader of the log, a
  `verify` or `export` cursor of many minutes included, with the writer queued behind.
- A partition is created apart and then attached (SHARE UPDATE EXCLUSIVE on the parent,
  compatible with readers), so making one costs the writer a few milliseconds once a
  partition, and readers nothing.
- Each writer process caches `until`; a process whose cache is stale (another made the
  partitions) calls once, finds them made, and learns the new bound.

Uniqueness of (originator_id, originator_version): PostgreSQL's unique constraints on a
partitioned table must include the partition key, so the library's primary key holds within each
partition only. Across partitions the writer guarantees it, as it already did in practice: it
assigns versions under the table's EXCLUSIVE lock (`register.next_version`, from the state
tables or `max(originator_version)` over the whole log), every stream's first event is one
posting whose idempotency key `ledger_postings` holds unique, and no other process inserts
without that lock.
"""

from __future__ import annotations

from typing import Any

from psycopg import Cursor

EXTEND = "SELECT ledger_extend_event_partitions(%s) AS covered, size FROM ledger_event_partitioning"
# The last position drawn, and whether migration 024 has run (a store opened before migrations,
# or without them, inserts into the library's plain table).
ISSUED = ("SELECT last_value, to_regclass('ledger_event_partitioning') IS NOT NULL AS partitioned"
          " FROM ledger_events_notification_id_seq")


class PartitionRoom:
    """How far the event table's partitions reach, as one writer process last saw it."""

    def __init__(self) -> None:
        self.until = 0  # the highest position that needs no new partition (0: not known yet)

    def make_room(self, curs: Cursor[Any], needed: int) -> None:
        """Partitions that hold every position up to `needed`, and half a partition beyond.
        The caller holds the event table's EXCLUSIVE lock (the function takes it otherwise)."""
        if needed <= self.until:
            return
        row = curs.execute(EXTEND, (needed,)).fetchone()
        assert row is not None, "migration 024 inserts the partition size"
        covered, size = (row["covered"], row["size"]) if isinstance(row, dict) else row
        self.until = int(covered) - int(size) // 2 - 1


class GroupRoom:
    """One locked transaction's positions: the sequence's value when the lock was taken, and
    the events sent since (rolled-back ones count: their positions are spent too)."""

    def __init__(self, room: PartitionRoom, issued: int) -> None:
        self.room, self.issued, self.sent = room, issued, 0

    def before_insert(self, curs: Cursor[Any], events: int) -> None:
        self.sent += events
        self.room.make_room(curs, self.issued + self.sent)
