"""Rate limits shared by every API process, kept in PostgreSQL (`api_rate_buckets`, issue 21).

With `serve --workers N`, or several `serve` processes behind a load balancer, a bucket per
process would let each key through N times its rate. Here the bucket lives in one row per key
id, refilled by the database's clock (`clock_timestamp()`: one clock for every process and
machine), and updated by one atomic statement (INSERT ... ON CONFLICT DO UPDATE locks the row
and computes from its latest version, so two processes never spend the same token).

So that a request does not cost a round trip, a process takes a LEASE of up to `lease` tokens
at once and spends them locally for at most LEASE_SECONDS; a lease's unspent tokens then lapse
(they are never handed back). The lease is `rate` x LEASE_SHARE_SECONDS, 1 to MAX_LEASE and at
most a tenth of the burst: 20 tokens at the default 2,000 a second, one round trip per 20
requests of a key in each process.

The accuracy bound, with P processes and a lease of L tokens: every request let in spent a
token of the shared bucket, which grants at most `burst + rate x T` tokens over T seconds; a
process may still hold L - 1 tokens granted before the interval. So over any T seconds a key
gets at most `burst + rate x T + P x (L - 1)` requests through all processes together. The
other way, a process may refuse a key while the others hold up to L - 1 unspent tokens each,
for at most LEASE_SECONDS. A refusal is remembered locally until the bucket's next token is
due (at most REFUSAL_MEMORY_SECONDS), so a key flooding past its limit costs no round trip
per request either.

While the database cannot be reached, the process falls back to its own buckets
(api/rate_limits.py: then each process allows the rate) and asks again after
RETRY_SECONDS, logging a WARNING at most once a minute.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import psycopg

from api.rate_limits import RateLimiter, parse_rate_limit

log = logging.getLogger("api.rate_limits")

LEASE_SHARE_SECONDS = 0.01  # a lease is this many seconds of the rate
MAX_LEASE = 100  # tokens a process takes at most in one round trip
LEASE_SECONDS = 1.0  # unspent tokens of a lease lapse after this
REFUSAL_MEMORY_SECONDS = 60.0  # the longest a refusal is answered locally
RETRY_SECONDS = 5.0  # after a failed round trip, local buckets for this long
WARN_EVERY_SECONDS = 60.0
CONNECT_TIMEOUT_SECONDS = 2
STATEMENT_TIMEOUT_MS = 1_000

# Refill by the time passed since the row's last statement, grant up to %(want)s whole
# tokens, keep the rest; `granted` returns what this statement granted.
_TAKE = """
INSERT INTO api_rate_buckets AS b (key_id, tokens, refilled_at, granted)
VALUES (%(key)s, %(burst)s - least(%(want)s, %(burst)s), clock_timestamp(),
        least(%(want)s, %(burst)s))
ON CONFLICT (key_id) DO UPDATE SET
    granted = least(%(want)s, floor(least(%(burst)s, b.tokens + %(rate)s
              * greatest(extract(epoch FROM excluded.refilled_at - b.refilled_at), 0))))::int,
    tokens = least(%(burst)s, b.tokens + %(rate)s
             * greatest(extract(epoch FROM excluded.refilled_at - b.refilled_at), 0))
             - least(%(want)s, floor(least(%(burst)s, b.tokens + %(rate)s
             * greatest(extract(epoch FROM excluded.refilled_at - b.refilled_at), 0)))),
    refilled_at = excluded.refilled_at
RETURNING granted, tokens"""


def lease_size(rate: float, burst: int) -> int:
    return max(1, min(MAX_LEASE, int(rate * LEASE_SHARE_SECONDS), burst // 10))


class SharedRateLimiter(RateLimiter):
    """A RateLimiter whose buckets are rows of `api_rate_buckets`, leased a few tokens at a
    time. `take` may make one round trip (at most STATEMENT_TIMEOUT_MS) on the caller's
    thread, once per lease."""

    def __init__(self, database_url: str, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic, lease: int | None = None) -> None:
        super().__init__(rate, burst, clock)
        self.lease = lease or lease_size(rate, burst)
        self._url = database_url
        self._leases: dict[str, tuple[int, float]] = {}  # key id -> (tokens, lapses at)
        self._refused: dict[str, tuple[float, float]] = {}  # key id -> (until, token due)
        self._conn: psycopg.Connection | None = None
        self._shared_lock = threading.Lock()
        self._local_until = 0.0  # no round trip before this (the database was away)
        self._warned_at = -math.inf

    @classmethod
    def for_database(cls, database_url: str, setting: str | None) -> SharedRateLimiter:
        """LEDGER_RATE_LIMIT, shared through `database_url`."""
        return cls(database_url, *parse_rate_limit(setting))

    def take(self, key_id: str) -> int | None:
        with self._shared_lock:
            now = self._clock()
            if now < self._local_until:
                return super().take(key_id)
            tokens, lapses = self._leases.get(key_id, (0, 0.0))
            if tokens >= 1 and now < lapses:
                self._leases[key_id] = (tokens - 1, lapses)
                return None
            until, due = self._refused.get(key_id, (0.0, 0.0))
            if now < until:
                return max(1, math.ceil(due - now))
            try:
                granted, left = self._ask(key_id)
            except psycopg.Error as error:
                self._away(now, error)
                return super().take(key_id)
            self._refused.pop(key_id, None)
            if granted >= 1:
                self._leases[key_id] = (granted - 1, now + LEASE_SECONDS)
                return None
            self._leases.pop(key_id, None)
            wait = (1 - left) / self.rate
            self._refused[key_id] = (now + min(wait, REFUSAL_MEMORY_SECONDS), now + wait)
            return max(1, math.ceil(wait))

    def close(self) -> None:
        with self._shared_lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _ask(self, key_id: str) -> tuple[int, float]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")
        row = self._conn.execute(_TAKE, {"key": key_id, "want": self.lease,
                                         "burst": float(self.burst), "rate": self.rate}
                                 ).fetchone()
        assert row is not None  # RETURNING always gives the row
        return int(row[0]), float(row[1])

    def _away(self, now: float, error: psycopg.Error) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._local_until = now + RETRY_SECONDS
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning("rate limits kept in this process for %.0f s: the shared buckets "
                        "cannot be reached (%s)", RETRY_SECONDS, error)
