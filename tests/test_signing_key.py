"""The checkpoints' signing key, made once even when several processes start together."""

from __future__ import annotations

import multiprocessing
import stat
import time
from pathlib import Path

import pytest

from ledger.integrity.checkpoints import load_or_create_key, public_pem

PROCESSES = 6
TRIES = 8


def _load_at(path: str, start: float) -> bytes:
    """Waits for a shared moment, then loads or makes the key, as a starting `serve` does."""
    time.sleep(max(0.0, start - time.time()))
    return public_pem(load_or_create_key(Path(path), create=True))


def test_processes_starting_together_all_sign_with_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    with context.Pool(PROCESSES) as pool:
        for attempt in range(TRIES):
            path = tmp_path / f"data-{attempt}" / "signing-key.pem"
            start = time.time() + 0.3
            keys = pool.starmap(_load_at, [(str(path), start)] * PROCESSES)
            assert len(set(keys)) == 1, f"try {attempt}: {len(set(keys))} different keys"
            assert keys[0] == public_pem(load_or_create_key(path, create=False))
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert [p.name for p in path.parent.iterdir()] == ["signing-key.pem"]  # no drafts


def test_a_missing_key_is_not_made_when_making_is_not_allowed(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no signing key at .*LEDGER_SIGNING_KEY"):
        load_or_create_key(tmp_path / "signing-key.pem", create=False)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_an_ed25519_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ValueError):
        load_or_create_key(path, create=True)
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\nnot")  # left as it was
