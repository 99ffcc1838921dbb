"""Per-key rate limits: a token bucket per API key id, refilled at `rate` a second up to `burst`.

A key over its limit hears 429 with Retry-After (seconds until a token is back). One bucket per
key known to the key ring, so memory is bounded by the number of keys. These buckets are one
process's own: `serve` shares them between its processes through PostgreSQL
(api/rate_buckets.py), and falls back to these while the database is away.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

DEFAULT_RATE = 2_000.0  # requests a second per key
DEFAULT_BURST = 4_000


class RateLimiter:
    def __init__(self, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, at)
        self._lock = threading.Lock()

    @classmethod
    def from_setting(cls, setting: str | None) -> RateLimiter:
        """LEDGER_RATE_LIMIT: `rate` or `rate:burst` (requests a second per key)."""
        return cls(*parse_rate_limit(setting))

    def take(self, key_id: str) -> int | None:
        """None if the key may go on; else the seconds to wait (at least 1)."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[key_id] = (tokens - 1, now)
                return None
            self._buckets[key_id] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))


def parse_rate_limit(setting: str | None) -> tuple[float, int]:
    """LEDGER_RATE_LIMIT as (rate, burst); unset: the defaults. The burst defaults to two
    seconds' worth."""
    if not setting:
        return DEFAULT_RATE, DEFAULT_BURST
    rate, _, burst = setting.partition(":")
    try:
        parsed = float(rate), int(burst) if burst else max(1, int(float(rate) * 2))
    except ValueError:
        parsed = (0.0, 0)
    if not (math.isfinite(parsed[0]) and parsed[0] > 0 and parsed[1] >= 1):
        raise ValueError(f"LEDGER_RATE_LIMIT must read rate or rate:burst (requests a second "
                         f"per key), not {setting!r}")
    return parsed
