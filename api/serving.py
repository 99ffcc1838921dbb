"""One API process: its writer service, its batch preparer and uvicorn, until it is told to stop.

`serve` runs one in its own process (the default), or N as children (`serve --workers N`,
api/workers.py), each on a listening socket the parent made. Either way the process owns a
writer (ledger/engine/writer.py: writers of several processes take turns under the event
table's lock, so one log holds everything, once), a batch preparer child, a key ring
refreshed from `api_keys`, and rate limits shared through `api_rate_buckets`
(api/rate_buckets.py). The projections, the checkpointer and the embedded cluster belong to
the `serve` process above it, once however many API processes there are.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

import uvicorn

from api.auth import KeyRing
from api.rate_buckets import SharedRateLimiter
from ledger.metrics import Metrics
from ledger.settings import Settings

GRACEFUL_SHUTDOWN_SECONDS = 10  # open requests may finish for this long after a stop


def api_keyring(settings: Settings, announce: Callable[[str], None]) -> KeyRing:
    """LEDGER_API_KEYS, else the development keys in LEDGER_DATA_DIR (made and announced on
    the first start; a worker of `serve --workers` reads the file its parent made)."""
    if settings.api_keys:
        return KeyRing.from_setting(settings.api_keys)  # a bad setting fails before the DB
    return KeyRing.development(Path(settings.data_dir), announce)


def prepare_database(database_url: str) -> None:
    """The event table and the migrations, once, before any API process or projector starts
    (they would wait for each other on the schema lock otherwise)."""
    from ledger.storage.migrations import migrate
    from ledger.storage.store import open_store

    open_store(database_url).close()
    migrate(database_url)


class _Server(uvicorn.Server):
    """uvicorn, telling `on_ready` once it listens (a worker's parent waits for it)."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            self._on_ready()


def serve_api(settings: Settings, database_url: str, keyring: KeyRing, metrics: Metrics, *,
              on_ready: Callable[[int], None], sockets: list[socket.socket] | None = None,
              worker: int | None = None, stop: threading.Event | None = None) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn's) or `stop` is set; the writer stops after.
    `on_ready(position)` is called once it listens: on `sockets` if given (a worker), else on
    LEDGER_HOST:LEDGER_PORT. `worker` is the process's number under `serve --workers`, shown
    on /healthz."""
    from api.app import create_app
    from ledger.service import LedgerService

    limiter = SharedRateLimiter.for_database(database_url, settings.rate_limit)
    keyring.limiter = limiter
    service = LedgerService(database_url, metrics, cache_events=settings.writer_cache).start()
    try:
        app = create_app(service, keyring, production=settings.production,
                         public_docs=settings.public_docs,
                         read_urls=settings.read_database_urls,  # issue 21: replicas
                         min_position_wait=settings.min_position_wait)
        app.state.worker = worker
        app.state.batch_preparer.start()  # now, so the first batch does not wait for it
        config = uvicorn.Config(app, host=settings.host, port=settings.port,
                                log_level="warning", access_log=False,
                                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
        server = _Server(config, lambda: on_ready(service.writer.position))
        if stop is not None:
            def stop_when_told() -> None:
                stop.wait()
                server.should_exit = True

            threading.Thread(target=stop_when_told, name="stop-watch", daemon=True).start()
        server.run(sockets=sockets)
    finally:
        service.stop()
        limiter.close()
