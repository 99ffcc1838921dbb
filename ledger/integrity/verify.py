"""`patent-ledger verify`: re-read the whole log beside its hash chain and name the first break.

Streams both tables in position order through a server-side cursor, so memory stays flat on any
log size, and recomputes every link (ledger/integrity/chain.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from ledger.integrity.chain import Break, first_break

PAGE = 5_000  # rows fetched at a time
_WALK = """
SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state,
       c.position, c.hash
FROM ledger_events e FULL JOIN ledger_chain c ON c.position = e.notification_id
ORDER BY coalesce(e.notification_id, c.position)
"""


@dataclass(frozen=True, slots=True)
class Verdict:
    events: int  # stored events read
    linked: int  # links read
    broken: Break | None

    @property
    def holds(self) -> bool:
        return self.broken is None


def verify_log(database_url: str, progress: Callable[[int, int], None] | None = None
               ) -> Verdict:
    counts = {"events": 0, "linked": 0}
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
        total = int(row[0]) if row else 0
        with conn.cursor(name="ledger_verify") as cur:
            cur.itersize = PAGE
            cur.execute(_WALK)

            def rows() -> Iterator[Any]:
                for r in cur:
                    counts["events"] += r[0] is not None
                    counts["linked"] += r[5] is not None
                    if progress and counts["events"] % PAGE == 0:
                        progress(counts["events"], total)
                    yield (r[0], r[1], r[2], r[3], None if r[4] is None else bytes(r[4]),
                           r[5], None if r[6] is None else bytes(r[6]))

            broken = first_break(rows())
    if progress:
        progress(counts["events"], total)
    return Verdict(counts["events"], counts["linked"], broken)
