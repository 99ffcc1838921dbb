"""What `patent-ledger verify` last found, kept so that the console's health page can say it.

`verify` re-reads the whole log, minutes on a large one, so the API does not run it per
request: the command records its verdict (whether the chain and every signed checkpoint held,
and the first problem if not) and readers ask for the latest. At most `KEPT` verdicts stay.
"""

from __future__ import annotations

import psycopg

KEPT = 100


def record(database_url: str, holds: bool, events: int, linked: int,
           problem: str | None) -> None:
    """Store one verdict and drop all but the latest `KEPT`. A database no `serve` or
    `migrate` has brought to migration 022 has no table for it: the verdict is then only
    printed."""
    with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
        exists = conn.execute("SELECT to_regclass('ledger_verifications')").fetchone()
        if exists is None or exists[0] is None:
            return
        conn.execute("INSERT INTO ledger_verifications (holds, events, linked, problem)"
                     " VALUES (%s, %s, %s, %s)", (holds, events, linked, problem))
        conn.execute("DELETE FROM ledger_verifications WHERE id <= (SELECT max(id) FROM"
                     " ledger_verifications) - %s", (KEPT,))


LATEST_SQL = ("SELECT verified_at, holds, events, linked, problem FROM ledger_verifications"
              " ORDER BY id DESC LIMIT 1")
