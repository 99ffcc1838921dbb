"""schemathesis, every check and every phase, against a real `serve`, once per role.

What a hand run does (docs/reliability.md, "The OpenAPI document and schemathesis"), bounded
for CI: 5 examples an operation, one worker (two hit a thread race inside hypothesis), a
fixed seed and no example database, so a run is the same run each time. Some 7,000 cases a
role, about 30 seconds each on two cores. schemathesis.toml at the root adds the project's
check (tests/schemathesis_hooks.py) and states which 422s a schema-valid body may get.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_serve import Server, _free_port

ROOT = Path(__file__).resolve().parent.parent
KEYS = {role: f"st-{role}-key-0123456789" for role in ("platform", "auditor", "regulator", "admin")}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    parent = Path(tempfile.mkdtemp(prefix="ledger-schemathesis-"))
    parent.chmod(0o711)  # as root, the `postgres` user must reach it
    port = _free_port()
    served = Server(parent / "data", port,
                    LEDGER_API_KEYS=",".join(f"{r}:{k}" for r, k in KEYS.items()))
    try:
        served.wait_ready()
        # Its log goes on (a line a request): read it, or the full pipe stalls the server.
        assert served.process.stdout is not None
        threading.Thread(target=served.process.stdout.read, daemon=True).start()
        yield served
    finally:
        served.stop()
        shutil.rmtree(parent, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("role", list(KEYS))
def test_schemathesis_finds_nothing_for_any_role(server: Server, role: str) -> None:
    command = [str(Path(sys.executable).parent / "schemathesis"),
               "--config-file", str(ROOT / "schemathesis.toml"),
               "run", f"{server.url}/openapi.json", "--checks", "all",
               "-H", f"Authorization: Bearer {KEYS[role]}",
               "--max-examples", "5", "--workers", "1", "--seed", "15",
               "--generation-database", "none", "--no-color"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    assert " passed" in report and "failure" not in report.split("SUMMARY")[-1], report[-3000:]
