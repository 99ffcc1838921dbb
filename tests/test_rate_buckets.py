"""Rate limits shared through PostgreSQL (api/rate_buckets.py, issue 21), with two limiters on
one database standing for two API processes. tests/test_workers.py checks the same through
`serve --workers 2`."""

from __future__ import annotations

import psycopg
import pytest

from api.rate_buckets import LEASE_SECONDS, SharedRateLimiter, lease_size
from ledger.storage.migrations import migrate
from ledger.storage.store import open_store


@pytest.fixture
def buckets_url(database_url: str) -> str:
    open_store(database_url).close()
    migrate(database_url)
    return database_url


def _tokens(url: str, key_id: str) -> float:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT tokens FROM api_rate_buckets WHERE key_id = %s",
                           (key_id,)).fetchone()
    assert row is not None
    return float(row[0])


def test_two_processes_share_one_bucket_per_key(buckets_url: str) -> None:
    """A burst of 10 and one token per 100 s: 10 requests in all, not 10 per process; the
    refusal names the wait; another key has its own bucket."""
    first, second = (SharedRateLimiter(buckets_url, 0.01, 10) for _ in range(2))
    answers = [(first if n % 2 == 0 else second).take("aaaaaaaaaaaa") for n in range(30)]
    assert answers.count(None) == 10
    assert all(wait is not None and wait >= 90 for wait in answers[10:]), str(answers)
    assert first.take("bbbbbbbbbbbb") is None
    first.close()
    second.close()


def test_a_process_takes_a_lease_of_tokens_per_round_trip(buckets_url: str) -> None:
    """Ten requests cost one statement; unspent tokens of a lease lapse after LEASE_SECONDS
    (then the next request asks the database again)."""
    now = [0.0]
    limiter = SharedRateLimiter(buckets_url, 0.01, 100, clock=lambda: now[0], lease=10)
    assert limiter.take("cccccccccccc") is None
    assert int(_tokens(buckets_url, "cccccccccccc")) == 90
    for _ in range(9):
        assert limiter.take("cccccccccccc") is None
    assert int(_tokens(buckets_url, "cccccccccccc")) == 90, "served from the lease"
    assert limiter.take("cccccccccccc") is None
    assert int(_tokens(buckets_url, "cccccccccccc")) == 80
    now[0] += LEASE_SECONDS  # nine unspent tokens lapse
    assert limiter.take("cccccccccccc") is None
    assert int(_tokens(buckets_url, "cccccccccccc")) == 70
    limiter.close()


def test_the_lease_is_a_hundredth_of_a_second_of_the_rate_within_bounds() -> None:
    assert lease_size(2_000, 4_000) == 20  # the default: one round trip per 20 requests
    assert lease_size(1_000_000, 4_000) == 100
    assert lease_size(2_000, 50) == 5  # at most a tenth of the burst
    assert lease_size(0.01, 10) == 1


def test_the_processs_own_buckets_hold_while_the_database_is_away() -> None:
    limiter = SharedRateLimiter("postgresql://nobody@127.0.0.1:1/none", 0.01, 3)
    answers = [limiter.take("dddddddddddd") for _ in range(4)]
    assert answers[:3] == [None, None, None] and answers[3] is not None
