"""`patent-ledger serve` with nothing configured: embedded PostgreSQL, keys, data that persists."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.builders import ACME


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env.update(LEDGER_DATA_DIR=str(data_dir), LEDGER_PORT=str(port))
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )
        self.output: list[str] = []

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                raise AssertionError("serve exited:\n" + "".join(self.output))
            self.output.append(line)
            if "serving on" in line:
                break
        for _ in range(100):
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("serve never became healthy:\n" + "".join(self.output))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Under /tmp, not pytest's tmp_path: as root, the `postgres` user must reach it."""
    parent = Path(tempfile.mkdtemp(prefix="ledger-serve-"))
    parent.chmod(0o711)
    path = parent / "data"
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)


def test_serve_starts_on_the_embedded_database_and_keeps_data(data_dir: Path) -> None:
    first = Server(data_dir, _free_port())
    try:
        first.wait_ready()
        printed = "".join(first.output)
        match = re.search(r"platform\s+(dev-platform-\S+)", printed)
        assert match, printed
        headers = {"Authorization": f"Bearer {match.group(1)}"}
        body = {"id": ACME, "name": "Fuzhou Acme", "kind": "enterprise"}
        assert httpx.post(first.url + "/v1/parties", json=body, headers=headers).status_code == 201
        assert httpx.get(first.url + "/docs").status_code == 200
    finally:
        first.stop()
    assert first.process.returncode == 0, "SIGTERM is a clean shutdown"
    assert not (data_dir / "pgdata" / "postmaster.pid").exists(), "the cluster was stopped"
    key_file = (data_dir / "api-keys.json").read_text()
    assert match.group(1) not in key_file, "the key must be kept only hashed"

    second = Server(data_dir, _free_port())
    try:
        second.wait_ready()
        events = httpx.get(second.url + "/v1/events", headers=headers).json()["events"]
        assert [e["payload"]["party_id"] for e in events] == [ACME]
    finally:
        second.stop()


def test_production_refuses_generated_keys(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATA_DIR=str(tmp_path), LEDGER_ENV="production")
    done = subprocess.run([sys.executable, "-m", "api.cli", "serve"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "LEDGER_API_KEYS" in done.stderr


@pytest.mark.parametrize("setting", ["platform", "platform:short", "wizard:0123456789abcdefgh"])
def test_bad_key_settings_are_refused_at_start(tmp_path: Path, setting: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATA_DIR=str(tmp_path), LEDGER_API_KEYS=setting,
               LEDGER_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    done = subprocess.run([sys.executable, "-m", "api.cli", "serve"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "patent-ledger:" in done.stderr
