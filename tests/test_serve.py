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
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.builders import ACME


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


KEPT_LINES = 2_000  # what a test keeps of serve's log, for its failure message


class Server:
    def __init__(self, data_dir: Path, port: int, args: tuple[str, ...] = (),
                 env_port: int | None = None, **settings: str) -> None:
        """`serve` with LEDGER_PORT=`env_port` (default `port`) and `args`; `port` is where
        it is expected to listen."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env.update(LEDGER_DATA_DIR=str(data_dir), LEDGER_PORT=str(env_port or port), **settings)
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", *args], env=env, stdout=subprocess.PIPE,
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
        # Keep reading what serve logs (a line per request): a pipe nobody reads fills up,
        # and serve then blocks on its next log line and stops answering.
        threading.Thread(target=self._drain, daemon=True).start()
        for _ in range(100):
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("serve never became healthy:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            del self.output[:-KEPT_LINES]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@contextmanager
def serve_data_dir() -> Iterator[Path]:
    """Under /tmp, not pytest's tmp_path: as root, the `postgres` user must reach it."""
    parent = Path(tempfile.mkdtemp(prefix="ledger-serve-"))
    parent.chmod(0o711)
    path = parent / "data"
    try:
        yield path
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with serve_data_dir() as path:
        yield path


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


def test_host_and_port_flags_win_over_the_environment(data_dir: Path) -> None:
    """uvicorn users reach for --host/--port first; they beat LEDGER_HOST/LEDGER_PORT."""
    flag_port, env_port = _free_port(), _free_port()
    server = Server(data_dir, flag_port, ("--host", "127.0.0.1", "--port", str(flag_port)),
                    env_port=env_port, LEDGER_HOST="localhost")
    try:
        server.wait_ready()
        assert f"serving on http://127.0.0.1:{flag_port}" in "".join(server.output)
        assert httpx.get(server.url + "/healthz").json()["status"] == "ok"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{env_port}/healthz", timeout=2)
    finally:
        server.stop()
    assert server.process.returncode == 0


@pytest.mark.parametrize("port", ["0", "65536", "eighty"])
def test_a_bad_port_flag_is_refused_clearly(tmp_path: Path, port: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", port], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "a port is a whole number from 1 to 65535" in done.stderr
    assert not (tmp_path / "pgdata").exists(), "refused before any cluster was made"


def test_a_bad_port_setting_is_refused_clearly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATA_DIR=str(tmp_path), LEDGER_PORT="80a")
    done = subprocess.run([sys.executable, "-m", "api.cli", "serve"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "LEDGER_PORT must be a whole number from 1 to 65535" in done.stderr


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
