"""Backup and restore with PostgreSQL's own tools: after `pg_dump` and `pg_restore` the hash
chain and its signed checkpoints verify, and every read model rebuilds to the same rows."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from psycopg import sql

from importers.uspto import UsptoImport
from ledger.integrity.checkpoints import check_checkpoints, make_checkpoint
from ledger.integrity.verify import verify_log
from ledger.service import LedgerService
from ledger.storage.embedded_postgres import find_postgres_bin_dir
from ledger.storage.store import open_store
from projections import all_projections
from projections.projectors import Projectors
from projections.rebuild import rebuild
from tests.ledger_fixtures import wait_projected
from tests.test_chain import seed
from tests.test_projection_runner import _dump
from tests.test_uspto_import import FILE


def test_dump_and_restore_keep_the_chain_and_rebuild_the_same_read_models(
        client: TestClient, service: LedgerService, projectors: Projectors,
        postgres_server_url: str, tmp_path: Path) -> None:
    seed(client)
    UsptoImport(service).run([FILE])
    key = Ed25519PrivateKey.generate()
    assert make_checkpoint(service.database_url, key) is not None
    wait_projected(projectors, service.store.head())
    projected = _dump(service.database_url)

    binaries = find_postgres_bin_dir()
    backup = tmp_path / "ledger.dump"
    subprocess.run([str(binaries / "pg_dump"), "--format=custom", f"--file={backup}",
                    service.database_url], check=True, capture_output=True, timeout=120)
    name = f"r_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
            sql.Identifier(name)))
    restored = urlsplit(postgres_server_url)._replace(path=f"/{name}").geturl()
    try:
        subprocess.run([str(binaries / "pg_restore"), "--no-owner", f"--dbname={restored}",
                        str(backup)], check=True, capture_output=True, timeout=120)
        verdict = verify_log(restored)
        assert verdict.holds and verdict.events == service.store.head()
        assert check_checkpoints(restored, key.public_key()) == []
        store = open_store(restored)
        try:
            for projection in all_projections():
                rebuild(restored, store, projection)
        finally:
            store.close()
        assert _dump(restored) == projected
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
