"""Which server answers a read: the primary, or one of the streaming replicas named by
LEDGER_READ_DATABASE_URL (issue 21 item 1; docs/replicas.md).

GraphQL and `GET /v1/events` ask `ReadRouter.choose` for the read models of one server per
request; writes, projections, checkpoints, the key ring and /healthz stay on the primary and
never come here. A replica is a physical copy: its read models are the primary's, as of the
WAL it has replayed, so a replica answers exactly what the primary answered a moment before.

- Routing: round-robin over the replicas that answered their last check.
- Read-your-writes: `X-Ledger-Min-Position: N` waits up to `min_position_wait` (setting
  LEDGER_MIN_POSITION_WAIT, default 2 s) for a replica whose projected position (the least
  committed position of the projections that follow the log) has reached N, polling every
  POLL_SECONDS; with no replica up, or when the wait ends, the primary answers.
- Failure: a replica is checked every CHECK_INTERVAL seconds (one statement, at most
  CHECK_TIMEOUT); a check or a read that cannot reach it leaves it out at once, so a replica
  that stops is left out within CHECK_INTERVAL + CHECK_TIMEOUT (LEFT_OUT_WITHIN) seconds
  even if nobody reads. A read that meets the failure is finished on the primary, statement by
  statement. A replica left out is tried again after 1 s, then 2, 4, ... at most
  MAX_BACKOFF seconds, and comes back at its first good check.
- Bounds: each replica's pool holds at most REPLICA_POOL_SIZE connections, and a read waits at
  most POOL_WAIT seconds for one before it goes to the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from projections.queries import POOL_SIZE, Decode, ReadModels

log = logging.getLogger("ledger.replicas")

HEADER = "X-Ledger-Min-Position"
SERVED_BY = "X-Ledger-Served-By"  # response header: "primary" or "replica-<n>" (never its URL)
MAX_POSITION = 2**62
CHECK_INTERVAL = 1.0
CHECK_TIMEOUT = 2.0
LEFT_OUT_WITHIN = CHECK_INTERVAL + CHECK_TIMEOUT
MAX_BACKOFF = 30.0
POLL_SECONDS = 0.05
REPLICA_POOL_SIZE = POOL_SIZE
POOL_WAIT = 2.0
PRIMARY = "primary"

# The log's head and how far the projections that follow it have committed, in one statement.
_STANDING = ("SELECT (SELECT coalesce(max(notification_id), 0) FROM ledger_events) AS head,"
             " (SELECT min(position) FROM projection_positions WHERE error IS NULL) AS projected")

T = TypeVar("T")


class BadMinPosition(ValueError):
    """X-Ledger-Min-Position is not a log position: 422 problem+json (api/app.py)."""


def min_position(headers: Mapping[str, str]) -> int | None:
    """The header's N, None without it; BadMinPosition names what is wrong."""
    raw = headers.get(HEADER)
    if raw is None:
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdigit():
        raise BadMinPosition(f"{HEADER} must be a log position: a whole number from 0 to "
                             f"{MAX_POSITION}, as a posting's answer gives it; got {raw[:40]!r}")
    if int(text) > MAX_POSITION:
        raise BadMinPosition(f"{HEADER} {text[:40]} is past the largest log position "
                             f"({MAX_POSITION})")
    return int(text)


@dataclass(frozen=True, slots=True)
class Served:
    """The read models of the server chosen for one request, and its name."""

    reads: ReadModels
    server: str  # PRIMARY or "replica-<n>"

    @property
    def by_replica(self) -> bool:
        return self.server != PRIMARY


@dataclass(eq=False)
class Replica:
    """One replica and what its last check said."""

    name: str
    host: str  # for logs: the URL may hold a password
    reads: ReplicaReads = field(init=False)
    up: bool = False
    head: int = 0
    projected: int = 0
    failures: int = 0
    retry_at: float = 0.0

    def answered(self, head: int, projected: int) -> None:
        if not self.up:
            log.info("read replica %s (%s) is up at position %d", self.name, self.host, head)
        self.up, self.head, self.projected, self.failures = True, head, projected, 0

    def failed(self, error: BaseException) -> None:
        """Left out; tried again after a back-off that doubles up to MAX_BACKOFF."""
        if self.up or self.failures == 0:
            log.warning("read replica %s (%s) left out: %s", self.name, self.host,
                        str(error).strip() or type(error).__name__)
        self.up = False
        self.failures += 1
        self.retry_at = time.monotonic() + min(2.0 ** (self.failures - 1), MAX_BACKOFF)


class ReplicaReads(ReadModels):
    """The read models on a replica's pool. A statement that cannot reach the replica marks it
    down and runs on the primary instead, so the request still gets its answer. Decoded events
    are shared with the primary's cache: they never change."""

    def __init__(self, replica: Replica, url: str, primary: ReadModels, decode: Decode) -> None:
        super().__init__(url, decode, REPLICA_POOL_SIZE,
                         connection={"connect_timeout": int(CHECK_TIMEOUT)},
                         timeout=POOL_WAIT, check=AsyncConnectionPool.check_connection)
        self._records = primary._records
        self.replica = replica
        self.primary = primary

    async def _rows(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()
                    ) -> list[dict[str, Any]]:
        if self.replica.up:
            try:
                return await super()._rows(query, params)
            except Exception as error:
                if not self._unreachable(error):
                    raise
        return await self.primary._rows(query, params)

    async def run(self, read: Callable[[AsyncConnection[Any]], Awaitable[T]]) -> T:
        if self.replica.up:
            try:
                return await super().run(read)
            except Exception as error:
                if not self._unreachable(error):
                    raise
        return await self.primary.run(read)

    def _unreachable(self, error: Exception) -> bool:
        """Whether the primary should answer instead: the replica is away (left out), or it
        cancelled the statement to replay WAL (a hot standby's recovery conflict). A statement
        over its timeout is the statement's fault, not the server's: raised as on the primary."""
        if isinstance(error, psycopg.errors.SerializationFailure):
            return True  # "canceling statement due to conflict with recovery"
        if isinstance(error, PoolTimeout) or (
                isinstance(error, psycopg.OperationalError)
                and not isinstance(error, psycopg.errors.QueryCanceled)):
            self.replica.failed(error)
            return True
        return False


class ReadRouter:
    """Chooses the server for each read (module docstring); with no replica, the primary."""

    def __init__(self, primary: ReadModels, urls: Sequence[str], decode: Decode,
                 min_position_wait: float = 2.0) -> None:
        self.primary = primary
        self.min_position_wait = min_position_wait
        self.replicas: list[Replica] = []
        for place, url in enumerate(urls, 1):
            replica = Replica(f"replica-{place}", urlsplit(url).hostname or "?")
            replica.reads = ReplicaReads(replica, url, primary, decode)
            self.replicas.append(replica)
        self._turn = itertools.count()
        self._checker: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Opens the replicas' pools without waiting for them (a replica that is away at start
        is left out, not a reason to stop serving) and checks each once before the first read."""
        for replica in self.replicas:
            await replica.reads.open(wait=False)
        await asyncio.gather(*(self.check(r) for r in self.replicas))
        if self.replicas:
            self._checker = asyncio.create_task(self._check_forever())

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
        for replica in self.replicas:
            await replica.reads.close()

    async def choose(self, at_least: int | None = None) -> Served:
        """A replica that is up (and, with `at_least`, has projected that position, waited for
        up to `min_position_wait`), else the primary."""
        if not self.replicas:
            return Served(self.primary, PRIMARY)
        deadline = time.monotonic() + self.min_position_wait
        while True:
            reached = [r for r in self._in_turn()
                       if r.up and (at_least is None or r.projected >= at_least)]
            if reached:
                return Served(reached[0].reads, reached[0].name)
            up = [r for r in self.replicas if r.up]
            if not up or time.monotonic() >= deadline:
                return Served(self.primary, PRIMARY)
            await asyncio.sleep(POLL_SECONDS)
            await asyncio.gather(*(self.check(r) for r in up))

    async def replica_lag(self, served: Served, position: int) -> int:
        """Events the primary's log holds past `position` (what the serving server's log holds);
        0 when the primary served."""
        if not served.by_replica:
            return 0
        return max(await self.primary.head() - position, 0)

    async def check(self, replica: Replica) -> None:
        """One statement on the replica: its head and projected position, or it is left out."""
        try:
            head, projected = await asyncio.wait_for(self._standing(replica), CHECK_TIMEOUT)
        except Exception as error:  # refused, timed out, not a ledger database: left out
            replica.failed(error)
        else:
            replica.answered(head, projected)

    async def _standing(self, replica: Replica) -> tuple[int, int]:
        async def read(conn: AsyncConnection[Any]) -> tuple[int, int]:
            cur = await conn.execute(_STANDING)
            row = await cur.fetchone()
            assert row is not None
            head = int(row[0])
            return head, head if row[1] is None else int(row[1])

        return await ReadModels.run(replica.reads, read)  # on the replica only: no fallback

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            now = time.monotonic()
            due = [r for r in self.replicas if r.up or now >= r.retry_at]
            await asyncio.gather(*(self.check(r) for r in due))

    def _in_turn(self) -> list[Replica]:
        """The replicas starting at the next one's turn (round-robin)."""
        start = next(self._turn) % len(self.replicas)
        return self.replicas[start:] + self.replicas[:start]
