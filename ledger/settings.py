"""Settings from the environment (architecture.md s3), read once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MAX_PROJECTION_BATCH = 10_000
WRITER_CACHE_RANGE = (1_000, 10_000_000)  # records the writer's cache may weigh


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None  # None: the embedded cluster under data_dir
    data_dir: Path
    api_keys: str | None  # "role:key,role:key"; None in development: generated once
    env: str  # "development" or "production"
    host: str
    port: int
    projection_batch: int  # events per projection transaction while catching up
    signing_key: Path | None = None  # Ed25519 PEM for checkpoints; None: data_dir's, made once
    rate_limit: str | None = None  # "rate[:burst]" requests a second per API key
    public_docs: bool = False  # LEDGER_PUBLIC_DOCS=1: /docs and /openapi.json in production
    writer_cache: int = 100_000  # LEDGER_WRITER_CACHE: records (about 0.4 KB) the writer's cache may weigh
    # --- issue 21 item 1 (read replicas): see `read_replica_settings` below ---
    read_database_urls: tuple[str, ...] = ()  # LEDGER_READ_DATABASE_URL; (): reads on the primary
    min_position_wait: float = 2.0  # LEDGER_MIN_POSITION_WAIT: X-Ledger-Min-Position's bound (s)

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key or self.data_dir / "signing-key.pem"

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_environment(cls) -> Settings:
        env = os.environ.get("LEDGER_ENV", "development")
        if env not in ("development", "production"):
            raise ValueError(f"LEDGER_ENV must be development or production, not {env!r}")
        raw_docs = os.environ.get("LEDGER_PUBLIC_DOCS", "0")
        if raw_docs not in ("0", "1"):
            raise ValueError(f"LEDGER_PUBLIC_DOCS must be 0 or 1, not {raw_docs!r}")
        raw_batch = os.environ.get("LEDGER_PROJECTION_BATCH", "10000")  # projections' BATCH_SIZE
        batch = int(raw_batch) if raw_batch.isdigit() else 0
        if not 1 <= batch <= MAX_PROJECTION_BATCH:
            raise ValueError(f"LEDGER_PROJECTION_BATCH must be a whole number from 1 to "
                             f"{MAX_PROJECTION_BATCH}, not {raw_batch!r}")
        raw_cache = os.environ.get("LEDGER_WRITER_CACHE", "100000")
        low, high = WRITER_CACHE_RANGE
        if not raw_cache.isdigit() or not low <= int(raw_cache) <= high:
            raise ValueError(f"LEDGER_WRITER_CACHE must be a whole number from {low:,} to "
                             f"{high:,} (records), not {raw_cache!r}")
        raw_port = os.environ.get("LEDGER_PORT", "8000")
        if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65_535:
            raise ValueError(f"LEDGER_PORT must be a whole number from 1 to 65535, "
                             f"not {raw_port!r}")
        return cls(
            database_url=os.environ.get("LEDGER_DATABASE_URL") or None,
            data_dir=Path(os.environ.get("LEDGER_DATA_DIR", ".ledger-data")).resolve(),
            api_keys=os.environ.get("LEDGER_API_KEYS") or None,
            env=env,
            host=os.environ.get("LEDGER_HOST", "127.0.0.1"),
            port=int(raw_port),
            projection_batch=batch,
            signing_key=Path(os.environ["LEDGER_SIGNING_KEY"]).resolve()
            if os.environ.get("LEDGER_SIGNING_KEY") else None,
            rate_limit=os.environ.get("LEDGER_RATE_LIMIT") or None,
            public_docs=raw_docs == "1",
            writer_cache=int(raw_cache),
            **read_replica_settings(),  # issue 21 item 1
        )


# --- issue 21 item 1 (read replicas) ------------------------------------------------------

MAX_READ_REPLICAS = 16
MIN_POSITION_WAIT_RANGE = (0.0, 30.0)  # seconds


def read_replica_settings() -> dict[str, Any]:
    """LEDGER_READ_DATABASE_URL (comma-separated PostgreSQL URLs of streaming replicas) and
    LEDGER_MIN_POSITION_WAIT (seconds), checked at start: a typo in a replica's URL must stop
    `serve` with the item named, not show up as reads quietly served by the primary. A URL is
    named by its place and host only: it may hold a password."""
    raw = os.environ.get("LEDGER_READ_DATABASE_URL", "")
    urls = tuple(part.strip() for part in raw.split(",")) if raw.strip() else ()
    if len(urls) > MAX_READ_REPLICAS:
        raise ValueError(f"LEDGER_READ_DATABASE_URL names {len(urls)} servers; at most "
                         f"{MAX_READ_REPLICAS}")
    for place, url in enumerate(urls, 1):
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
            shown = "empty" if not url else f"host {parts.hostname}" if parts.hostname \
                else "no host"
            raise ValueError(f"LEDGER_READ_DATABASE_URL item {place} ({shown}) is not a "
                             "PostgreSQL URL like postgresql://user@host:5432/ledger; give one "
                             "or more, separated by commas")
        try:
            parts.port  # noqa: B018 (raises on a port that is not a number)
        except ValueError:
            raise ValueError(f"LEDGER_READ_DATABASE_URL item {place} ({parts.hostname}) has a "
                             "port that is not a whole number from 0 to 65535") from None
    if len(set(urls)) != len(urls):
        raise ValueError("LEDGER_READ_DATABASE_URL names the same server twice")
    raw_wait = os.environ.get("LEDGER_MIN_POSITION_WAIT", "2")
    low, high = MIN_POSITION_WAIT_RANGE
    try:
        wait = float(raw_wait)
    except ValueError:
        wait = -1.0
    if not low <= wait <= high:  # also NaN
        raise ValueError(f"LEDGER_MIN_POSITION_WAIT must be a number of seconds from {low:g} to "
                         f"{high:g}, not {raw_wait!r}")
    return {"read_database_urls": urls, "min_position_wait": wait}
