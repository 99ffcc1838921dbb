"""A hot standby of the tests' PostgreSQL server (ledger/storage/standby.py), per module.

Shared by the read-replica tests: one base backup per module (a fraction of a second on the
tests' small cluster), stopped at its end. It streams the whole cluster, so every test's
fresh database (tests/conftest.py `database_url`) appears on it too.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.storage.embedded_postgres import PostgresBinariesMissing
from ledger.storage.standby import HotStandby


@pytest.fixture(scope="module")
def standby(postgres_server_url: str) -> Iterator[HotStandby]:
    # Not tmp_path_factory: as root the server runs as `postgres`, which must reach the dir.
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-test-standby-"))
    replica = HotStandby(postgres_server_url, data_dir)
    try:
        replica.start()
    except PostgresBinariesMissing as missing:
        shutil.rmtree(data_dir, ignore_errors=True)
        pytest.skip(f"no local PostgreSQL binaries for a standby: {missing}")
    try:
        yield replica
    finally:
        replica.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
