"""The "indicator_flags" settler: flagged deals taken out of the indicators' rollup as flags change.

Three projections commit independently what this needs: "audit" the deal facts, "anomalies"
the flags and findings, "indicators" the rollup. After each page they commit, the runner asks
the settler to bring the adjustments (projections/indicator_flag_sql.py) up to the lowest of
their positions: the positions whose flags changed there (the anomalies projection queues
them beside each flag it adds or drops and each finding it records) are judged again against
the flags as they stand, and members of the deals folded since are judged again. Each settle
is one transaction under an advisory lock, so any process may run it; it is idempotent (a
deal is taken out at most once: `rm_indicator_flagged`), so a queued position seen twice, or a
flag that changes after the settle read it, only makes a later settle do the work.

After a rebuild of any of the three (a new generation), or when one of them is behind the
settler's own position (its tables were emptied), the adjustments are computed afresh; until
then `queries.indicator_rows` answers with the query that takes flagged deals out itself.
"""

from __future__ import annotations

import logging

import psycopg

from projections.indicator_flag_sql import (
    APPLY,
    DELTA,
    DELTA_AFRESH,
    DROP_QUEUED,
    LOCK_KEY,
    QUEUED,
    START_AFRESH,
    TAKE_ALL_FLAGGED,
    TAKE_QUEUED,
    TEMP_TABLES,
)
from projections.stops import describe

log = logging.getLogger("projections.indicator_flags")

SOURCES = ("audit", "anomalies", "indicators")  # whose committed tables the settle reads


class FlagAdjustments:
    name: str = "indicator_flags"
    tables: tuple[str, ...] = ("rm_indicator_flagged", "rm_indicator_flag_totals",
                               "rm_indicator_flag_members")

    def settle(self, conn: psycopg.Connection) -> int:
        """Bring the adjustments up to the sources' lowest position, and return it."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            # Small changes through large statements: compiling them (JIT) would cost seconds.
            conn.execute("SET LOCAL jit = off")
            sources = dict.fromkeys(SOURCES, (0, 0))
            for name, position, generation in conn.execute(
                    "SELECT name, position, generation FROM projection_positions"
                    " WHERE name = ANY(%s)", (list(SOURCES),)):
                sources[name] = (position, generation)
            row = conn.execute("SELECT position FROM projection_positions WHERE name = %s"
                               " FOR UPDATE", (self.name,)).fetchone()
            if row is None:
                raise RuntimeError(f"{self.name!r} is not in projection_positions")
            settled = row[0]
            state = conn.execute("SELECT audit_generation, anomalies_generation,"
                                 " indicators_generation FROM rm_indicator_flag_state"
                                 ).fetchone()
            generations = tuple(sources[name][1] for name in SOURCES)
            through = min(position for position, _ in sources.values())
            afresh = state != generations or through < settled
            if not afresh and through == settled and not _queued(conn, through):
                return settled
            for statement in TEMP_TABLES:
                conn.execute(statement)
            # Afresh, every member is judged from its flagged deals: no arrivals to look at.
            parameters = {"through": through, "after": through if afresh else settled}
            if afresh:
                conn.execute(START_AFRESH)
                conn.execute(TAKE_ALL_FLAGGED, parameters)
                conn.execute(DROP_QUEUED, parameters)
                changed = conn.execute(DELTA_AFRESH).rowcount
            else:
                conn.execute(TAKE_QUEUED, parameters)
                changed = conn.execute(DELTA).rowcount
            conn.execute(APPLY, parameters)
            conn.execute("UPDATE rm_indicator_flag_state SET audit_generation = %s,"
                         " anomalies_generation = %s, indicators_generation = %s", generations)
            conn.execute("UPDATE projection_positions SET position = %s, updated_at = now(),"
                         " error = NULL, failed_position = NULL WHERE name = %s",
                         (through, self.name))
        if afresh:
            log.info("indicator flags computed afresh up to position %s: %s deals taken out",
                     through, changed)
        else:
            log.debug("indicator flags settled up to position %s: %s deals changed sides",
                      through, changed)
        return through

    def record_failure(self, conn: psycopg.Connection, error: BaseException) -> None:
        """A settle that cannot run: say so where operators and readers look (queries then
        take flagged deals out themselves); the projections go on."""
        with conn.transaction():
            conn.execute("UPDATE projection_positions SET error = %s, updated_at = now()"
                         " WHERE name = %s",
                         # one bounded line, as a projection's stop (projections/stops.py)
                         (f"settling flagged deals failed: {describe(error)}", self.name))


def _queued(conn: psycopg.Connection, through: int) -> bool:
    row = conn.execute(QUEUED, {"through": through}).fetchone()
    return bool(row and row[0])
